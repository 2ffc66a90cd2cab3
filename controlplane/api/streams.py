"""The Control rpcs that stream: Watch (events), Logs, Exec and Build.

Each answers with a stream that lives as long as the caller follows it. Logs, exec and
builds are relayed to and from agents through the sessions this replica holds
(logs.py, exec.py, builds.py); events come from an etcd watch. The relays themselves
live in those modules: here is only what checks a request and picks the nodes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from dockyard.controlplane import admission
from dockyard.controlplane.api.base import ControlBase, abort, refuse
from dockyard.controlplane.api.builds import relay_build
from dockyard.controlplane.api.exec import caller_stream
from dockyard.controlplane.events import stored_events
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode
from dockyard.v1 import control_pb2, objects_pb2


class Streams(ControlBase):
    """Watch, Logs, Exec and Build (see control.proto)."""

    async def Watch(
        self, request: control_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[objects_pb2.Event]:
        await refuse(context, admission.name_problem("app", request.app, optional=True))
        prefix = keys.events_prefix(request.app) if request.app else keys.EVENTS
        if request.history:
            stored, revision = await self._guard(context, self._store.get_prefix(prefix))
            for event in stored_events(stored):
                yield event
            if request.stop_after_history:
                return
        else:
            _, revision = await self._guard(context, self._store.get_prefix(keys.cluster_key("")))
        async for change in self._store.watch_prefix(prefix, start_revision=revision + 1):
            if change.value is not None:
                yield decode(objects_pb2.Event, change.value)

    async def Logs(
        self, request: control_pb2.LogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.LogChunk]:
        await refuse(context, admission.logs_request_problem(
            request.app, request.service, request.slot, request.tail))
        if self._logs is None:
            await abort(context, grpc.StatusCode.UNIMPLEMENTED, "logs are not served here")
        tasks = await self._guard(context, typed.list_tasks(self._store, request.app))
        wanted = [t for t in tasks if t.service == request.service and t.node
                  and (not request.slot or t.slot == request.slot)
                  and t.status.container_id]
        if not wanted:
            await abort(context, grpc.StatusCode.NOT_FOUND,
                        f"no container of {request.app}/{request.service}"
                        + (f" slot {request.slot}" if request.slot else "") + " to read")
        by_node: dict[str, list[str]] = {}
        info = {t.meta.id: t for t in wanted}
        for t in wanted:
            if self._logs.reachable(t.node):
                by_node.setdefault(t.node, []).append(t.meta.id)
            else:
                yield control_pb2.LogChunk(
                    task_id=t.meta.id, service=t.service, slot=t.slot, node=t.node,
                    notice=f"node {t.node} has no session with this control-plane replica")
        if not by_node:
            return
        sub = self._logs.subscribe(by_node, follow=request.follow, tail=request.tail or -1)
        try:
            while sub.pending:
                msg = await sub.queue.get()
                t = info[msg.task_id]
                if msg.data:
                    yield control_pb2.LogChunk(task_id=t.meta.id, service=t.service,
                                               slot=t.slot, node=t.node, data=msg.data)
                if msg.error:
                    yield control_pb2.LogChunk(task_id=t.meta.id, service=t.service,
                                               slot=t.slot, node=t.node, notice=msg.error)
                if msg.done:
                    sub.pending.discard(msg.task_id)
        finally:
            self._logs.close(sub)

    async def Exec(
        self, request_iterator: AsyncIterator[control_pb2.ExecInput],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[control_pb2.ExecOutput]:
        inputs = aiter(request_iterator)
        try:
            first = await anext(inputs)
        except StopAsyncIteration:
            return
        if not first.HasField("start"):
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                        "an exec's first message says what to run (start)")
        await refuse(context, admission.exec_problem(first.start))
        if self._logs is None:
            await abort(context, grpc.StatusCode.UNIMPLEMENTED, "exec is not served here")
        tasks = await self._guard(context, typed.list_tasks(self._store, first.start.app))
        async for out in caller_stream(inputs, context, tasks=tasks, start=first.start,
                                       broker=self._logs):
            yield out

    async def Build(
        self, request_iterator: AsyncIterator[control_pb2.BuildUpload],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[control_pb2.BuildOutput]:
        if self._builds is None or self._view is None:
            await abort(context, grpc.StatusCode.UNIMPLEMENTED, "builds are not served here")
            return
        async for out in relay_build(self._builds, self._view, request_iterator, context):
            yield out
