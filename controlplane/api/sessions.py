"""Sessions: the one stream each node holds, its heartbeats, and its tasks' status.

In the style of SwarmKit: an agent registers (controlplane/api/certificates.py) and then
holds one Session stream (the sessions held: controlplane/api/sessionregistry.py). The
stream carries the node's complete set of assignments first, then increments; whatever
a complete set lacks, the agent removes (controlplane/api/assignments.py). Heartbeats
stay in the memory of the replica holding the session, which judges them
(controlplane/liveness.py) and writes to etcd only when a node stops being alive; the
leader then marks the node down. Agents never touch etcd themselves.

Who may call is checked before any of this runs (controlplane/api/roles.py): a node's own
certificate, for the node the request names.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from dockyard.common.retryhint import retry_after_metadata
from dockyard.common.waits import wait_set
from dockyard.controlplane.api.assignments import SentState, next_message
from dockyard.controlplane.api.builds import BuildBroker
from dockyard.controlplane.api.fanout import PEERS_EVERY_S, Fanout
from dockyard.controlplane.api.logs import LogBroker
from dockyard.controlplane.api.sessionregistry import SessionRegistry
from dockyard.controlplane.api.statuses import STATUS_PER_TXN, StatusWriter, shed_wait_s
from dockyard.controlplane.api.volumes import volume_removed
from dockyard.controlplane.files.delivery import SessionFiles
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.metrics import (
    SESSIONS,
    STATUS_BATCHES,
    STATUS_CALLS_SHED,
    count_transitions,
    entered_states,
)
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.store.etcd import EtcdStore, StoreUnavailable
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

if TYPE_CHECKING:
    from dockyard.controlplane.liveness import NodeLiveness


_WRITTEN = dispatcher_pb2.UpdateTaskStatusResponse()


class SessionsService(dispatcher_pb2_grpc.SessionsServicer):
    def __init__(
        self,
        store: EtcdStore,
        mirror: Mirror,
        *,
        registry: SessionRegistry,
        broker: LogBroker,
        heartbeat_s: float,
        liveness: NodeLiveness,
        files: FileStore | None = None,
        builds: BuildBroker | None = None,
    ) -> None:
        self._builds = builds or BuildBroker()
        self._store = store
        self._files = files or FileStore(store, None)
        self._mirror = mirror
        self._registry = registry
        self._liveness = liveness
        self._broker = broker
        self._heartbeat_ms = int(heartbeat_s * 1000)
        self._fanout = Fanout(mirror, wake_nodes=registry.wake, wake_all=registry.wake_all)
        self._statuses = StatusWriter(store)  # every session's statuses, written together

    async def Session(
        self, request: dispatcher_pb2.SessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[dispatcher_pb2.SessionMessage | bytes]:
        """Bytes are a SessionMessage already serialized (roles.passing sends them)."""
        session = self._registry.get(request.node, request.session_id)
        if session is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
            return
        await self._mirror.synced.wait()
        SESSIONS.inc()
        wake = session.changed.set
        self._broker.attach(request.node, wake)
        self._builds.attach(request.node, wake)
        fan = self._fanout
        try:
            sent = SentState()
            node_files = SessionFiles(self._files)  # each secret version once per session
            peers_epoch, peers_at = -1, 0.0
            network_epoch = -1
            loop = asyncio.get_running_loop()
            while self._registry.is_open(request.session_id):
                session.changed.clear()
                view, complete = self._mirror.view, sent.complete
                msg = next_message(view, request.node, sent, fan.endpoints,
                                   self._broker.outgoing(request.node), tables=False)
                files = await node_files.next(view.tasks_on(request.node), complete=complete)
                if files:
                    msg = msg or dispatcher_pb2.SessionMessage()
                    msg.files.update(files)
                builds = self._builds.outgoing(request.node)
                if builds:  # build orders ride any message, or one of their own
                    msg = msg if msg is not None else dispatcher_pb2.SessionMessage()
                    msg.builds.extend(builds)
                if msg is not None and msg.has_endpoints:
                    # The endpoint tables, serialized once for every session, appended.
                    yield msg.SerializeToString() + fan.endpoints.wire(sent.endpoints or {})
                elif msg is not None:
                    yield msg
                if network_epoch != fan.network_epoch:
                    network_epoch = fan.network_epoch
                    yield fan.network_wire  # one message, serialized once for all
                wait_s = 5.0
                if peers_epoch != fan.peers_epoch:
                    due = peers_at + PEERS_EVERY_S - loop.time()
                    if peers_epoch < 0 or due <= 0:
                        # The whole table first, then the rows changed since the epoch
                        # sent; either serialized once for every session.
                        wire = fan.peers_since(peers_epoch)
                        peers_epoch, peers_at = fan.peers_epoch, loop.time()
                        yield wire
                    else:
                        wait_s = due  # the node table changes often while nodes join
                await wait_set(session.changed, wait_s)
        finally:
            self._liveness.disconnected(request.node, request.session_id)
            self._broker.detach(request.node, wake)
            self._builds.detach(request.node, wake)
            SESSIONS.dec()

    async def Heartbeat(
        self, request: dispatcher_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.HeartbeatResponse:
        """Memory only: the heartbeat feeds this replica's failure detector
        (controlplane/liveness.py); etcd hears only when the node's liveness changes."""
        if not self._beat(request):
            # Unknown here, or declared down before this heartbeat came: start over.
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
        return dispatcher_pb2.HeartbeatResponse(period_ms=self._heartbeat_ms)

    async def Heartbeats(
        self, request_iterator: AsyncIterator[dispatcher_pb2.HeartbeatRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[dispatcher_pb2.HeartbeatResponse | bytes]:
        """Heartbeat's work for each message of one long stream (agent/heartbeats.py);
        a beat that asks is answered with the period (one reply, serialized once). A
        beat of an unknown or ended session ends the stream NOT_FOUND: the agent
        registers again."""
        reply = dispatcher_pb2.HeartbeatResponse(
            period_ms=self._heartbeat_ms).SerializeToString()
        async for beat in request_iterator:
            if not self._beat(beat):
                await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
            if beat.answer:
                yield reply

    def _beat(self, request: dispatcher_pb2.HeartbeatRequest) -> bool:
        """Feed one heartbeat to the detector; False when its session is unknown here or
        its node was declared down before it came."""
        if (self._registry.get(request.node, request.session_id) is None
                or not self._liveness.heard(request.node, request.session_id)):
            return False
        self._registry.heard(request.node)
        return True

    async def UpdateTaskStatus(
        self, request: dispatcher_pb2.UpdateTaskStatusRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        """One batch of a node's statuses, for agents without the TaskStatuses stream: a
        server behind on status writes refuses it with RESOURCE_EXHAUSTED and a wait."""
        STATUS_BATCHES.labels(way="call").inc()
        wait_s = await self._take_statuses(request, context, context.time_remaining())
        if wait_s:  # refused before any work: the agent keeps its batch and comes back
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"behind on status writes; send again in {wait_s:.1f}s",
                                trailing_metadata=retry_after_metadata(wait_s))
        return _WRITTEN

    async def TaskStatuses(
        self, request_iterator: AsyncIterator[dispatcher_pb2.UpdateTaskStatusRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[dispatcher_pb2.UpdateTaskStatusResponse | bytes]:
        """UpdateTaskStatus's work for each batch of one long stream, one batch at a time
        (the agent sends the next when this one is answered, so a task's statuses stay in
        order): answered once written, or with the wait when the server is behind. An
        unknown session, a task of another node or etcd out of reach end the stream as
        they end a call."""
        written = _WRITTEN.SerializeToString()
        batches = STATUS_BATCHES.labels(way="stream")
        async for request in request_iterator:
            batches.inc()
            wait_s = await self._take_statuses(request, context, None)
            if wait_s:
                yield dispatcher_pb2.UpdateTaskStatusResponse(
                    retry_after_ms=max(1, int(wait_s * 1000)))
            else:
                yield written

    async def _take_statuses(
        self, request: dispatcher_pb2.UpdateTaskStatusRequest,
        context: grpc.aio.ServicerContext, left_s: float | None,
    ) -> float:
        """Write one batch of statuses: 0 once they are in etcd, or the seconds to wait
        before sending them again (`shed_wait_s`: refused before any work). Aborts the
        call for an unknown session, a task of another node, or etcd out of reach."""
        if self._registry.get(request.node, request.session_id) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
        statuses = self._statuses
        wait_s = shed_wait_s(statuses.backlog, len(request.updates), left_s,
                             statuses.rate_per_s)
        if wait_s:
            STATUS_CALLS_SHED.inc()
            return wait_s
        view = self._mirror.view
        writes: list[tuple[str, str, bytes]] = []  # (task key, status key, status)
        for u in request.updates:
            task = view.tasks.get(u.task_id)
            if task is None:
                continue  # already deleted: the report is moot
            if task.node != request.node:
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"node {request.node} may not report task {u.task_id} of node {task.node}",
                )
            writes.append((keys.task_key(task.app, u.task_id),
                           keys.status_key(task.app, u.task_id), encode(u.status)))
        entered = entered_states(view, request.updates)
        try:
            await self._statuses.write(writes)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        count_transitions(entered)
        return 0.0

    async def Leave(
        self, request: dispatcher_pb2.LeaveRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.LeaveResponse:
        """The agent stops and means to come back: its node stays ready for the leave
        grace (controlplane/liveness.py)."""
        try:
            kept = await self._liveness.leave(request.node, request.session_id)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None
        grace_ms = int(self._liveness.leave_grace_s * 1000) if kept else 0
        return dispatcher_pb2.LeaveResponse(grace_ms=grace_ms)

    async def VolumesRemoved(
        self, request: dispatcher_pb2.VolumesRemovedRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.VolumesRemovedResponse:
        if self._registry.get(request.node, request.session_id) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
        try:
            for volume in request.volumes[:STATUS_PER_TXN]:
                await volume_removed(self._store, volume, request.node)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return dispatcher_pb2.VolumesRemovedResponse()

