"""The Dispatcher API agents call: register, one assignment stream, heartbeats, status.

In the style of SwarmKit: an agent dials in and holds one Session stream. The stream
carries the node's complete set of assignments first, then increments; whatever a
complete set lacks, the agent removes. Liveness is an etcd lease per node whose TTL is
the grace: heartbeats keep it alive, and when they stop, etcd deletes the node's
`alive` key and the leader marks the node down. Agents never touch etcd themselves.

Every call is mutual TLS. Register takes a join certificate (proof of the join token) and
a CSR, and returns the node's certificate; every other call needs the node's certificate,
and the node a call is about is the one the certificate names, whatever the request says.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc

from controlplane.api.logs import LogBroker
from controlplane.endpoints import endpoints_for
from controlplane.http_status import SESSIONS
from controlplane.mirror import Mirror
from controlplane.security import pki
from controlplane.security.cluster import Tls
from controlplane.store import keys, typed
from controlplane.store.codec import decode, encode
from controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

log = logging.getLogger(__name__)

_STATUS_PER_TXN = 100


@dataclass
class _Session:
    node: str
    lease_id: int
    changed: asyncio.Event


def assignments_for(
    mirror_view_tasks: list[objects_pb2.Task], sent: dict[str, int]
) -> tuple[list[dispatcher_pb2.Assignment], dict[str, int]]:
    """The increment from what was sent to what is current. Pure."""
    current = {t.meta.id: t for t in mirror_view_tasks}
    out = [
        dispatcher_pb2.Assignment(action=dispatcher_pb2.Assignment.UPDATE, task=t)
        for tid, t in current.items()
        if sent.get(tid) != t.meta.version
    ]
    for tid in sent:
        if tid not in current:
            gone = objects_pb2.Task()
            gone.meta.id = tid
            remove = dispatcher_pb2.Assignment.REMOVE
            out.append(dispatcher_pb2.Assignment(action=remove, task=gone))
    return out, {tid: t.meta.version for tid, t in current.items()}


class DispatcherService(dispatcher_pb2_grpc.DispatcherServicer):
    def __init__(
        self,
        store: EtcdStore,
        mirror: Mirror,
        *,
        tls: Tls,
        node_cert_s: float = 86400.0,
        heartbeat_s: float,
        grace_s: float,
    ) -> None:
        self._store = store
        self._mirror = mirror
        self._tls = tls
        self._node_cert_s = node_cert_s
        self._heartbeat_ms = int(heartbeat_s * 1000)
        self._ttl = max(2, math.ceil(grace_s))
        self._sessions: dict[str, _Session] = {}
        self.last_heartbeat_ms: dict[str, int] = {}
        self.logs = LogBroker()
        mirror.subscribe(self._changed)

    def _changed(self, kinds: set[str]) -> None:
        if kinds & {"tasks", "apps", "status", "services"}:
            for s in self._sessions.values():
                s.changed.set()

    async def Register(
        self, request: dispatcher_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.RegisterResponse:
        desc = request.description
        if not desc.name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the node has no name")
        if desc.name in pki.RESERVED_NAMES:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"{desc.name!r} is reserved; choose another node name")
        peer = self._tls.peer(context)
        if peer.role not in ("join", "node"):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "register needs the join token's certificate or a node certificate")
        if peer.name != desc.name:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"the certificate is for node {peer.name}, not {desc.name}")
        certificate = b""
        if request.csr:
            certificate = await self._sign(context, request.csr, desc.name)
        elif peer.role == "join":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "joining needs a certificate request (csr)")
        try:
            session_id, lease_id = await self._register(desc)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        for old_id in [i for i, s in self._sessions.items() if s.node == desc.name]:
            self._sessions.pop(old_id).changed.set()  # its stream ends
        self._sessions[session_id] = _Session(desc.name, lease_id, asyncio.Event())
        self.last_heartbeat_ms[desc.name] = typed.now_ms()
        log.info("node %s registered (session %s)", desc.name, session_id)
        return dispatcher_pb2.RegisterResponse(
            session_id=session_id, heartbeat_period_ms=self._heartbeat_ms,
            certificate=certificate, ca_certificate=self._tls.ca.cert_pem,
        )

    async def _sign(self, context: grpc.aio.ServicerContext, csr: bytes, node: str) -> bytes:
        try:
            return pki.sign_node_csr(self._tls.ca, csr, node, valid_s=self._node_cert_s)
        except pki.PkiError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from None

    async def Renew(
        self, request: dispatcher_pb2.RenewRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.RenewResponse:
        peer = self._tls.peer(context)
        if peer.role != "node":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "renew needs a node certificate")
        certificate = await self._sign(context, request.csr, peer.name)
        log.info("node %s renewed its certificate", peer.name)
        return dispatcher_pb2.RenewResponse(certificate=certificate,
                                            ca_certificate=self._tls.ca.cert_pem)

    async def _register(self, desc: objects_pb2.NodeDescription) -> tuple[str, int]:
        key = keys.node_key(desc.name)
        lease_id = await self._store.grant_lease(self._ttl)
        for _ in range(5):
            entry = await self._store.get(key)
            now = typed.now_ms()
            if entry is None:
                node = objects_pb2.Node(availability=objects_pb2.ACTIVE)
                node.meta.id = desc.name
                node.meta.created_ms = now
            else:
                node = decode(objects_pb2.Node, entry.value)
            node.description.CopyFrom(desc)
            node.last_heartbeat_ms = now
            node.meta.updated_ms = now
            commit = Commit(expect={key: entry.mod_revision if entry else 0})
            commit.puts[key] = encode(node)
            commit.lease_puts[keys.alive_key(desc.name)] = (b"", lease_id)
            if await self._store.commit(commit):
                return secrets.token_hex(8), lease_id
        raise StoreUnavailable(f"node {desc.name} kept changing during registration")

    def _session(self, node: str, session_id: str) -> _Session | None:
        s = self._sessions.get(session_id)
        return s if s is not None and s.node == node else None

    async def Session(
        self, request: dispatcher_pb2.SessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[dispatcher_pb2.SessionMessage]:
        await self._tls.require_node(context, request.node)
        session = self._session(request.node, request.session_id)
        if session is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
            return
        await self._mirror.synced.wait()
        SESSIONS.inc()
        wake = session.changed.set
        self.logs.attach(request.node, wake)
        try:
            sent: dict[str, int] = {}
            sent_endpoints: list[dispatcher_pb2.Endpoint] | None = None
            complete = True
            while request.session_id in self._sessions:
                session.changed.clear()
                view = self._mirror.view
                tasks = view.tasks_on(request.node)
                changes, sent_now = assignments_for(tasks, {} if complete else sent)
                endpoints = endpoints_for(view, {t.app for t in tasks})
                new_endpoints = endpoints != sent_endpoints
                subscriptions = self.logs.outgoing(request.node)
                if complete or changes or new_endpoints or subscriptions:
                    yield dispatcher_pb2.SessionMessage(
                        complete=complete,
                        assignments=changes,
                        files=self._files_for(tasks, view.apps),
                        endpoints=endpoints,
                        has_endpoints=True,
                        subscriptions=subscriptions,
                    )
                sent, complete, sent_endpoints = sent_now, False, endpoints
                try:
                    await asyncio.wait_for(session.changed.wait(), timeout=5.0)
                except TimeoutError:
                    pass
        finally:
            self.logs.detach(request.node, wake)
            SESSIONS.dec()

    @staticmethod
    def _files_for(
        tasks: list[objects_pb2.Task], apps: dict[str, objects_pb2.App]
    ) -> dict[str, bytes]:
        """Secrets and configs, only those the node's tasks use."""
        files: dict[str, bytes] = {}
        for t in tasks:
            app = apps.get(t.app)
            if app is None:
                continue
            wanted = {f.source for f in t.spec.secrets} | {f.source for f in t.spec.configs}
            for obj in list(app.spec.secrets) + list(app.spec.configs):
                if obj.name in wanted:
                    files[f"{t.app}/{obj.name}"] = obj.data
        return files

    async def Heartbeat(
        self, request: dispatcher_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.HeartbeatResponse:
        await self._tls.require_node(context, request.node)
        session = self._session(request.node, request.session_id)
        if session is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
            raise AssertionError("unreachable")
        try:
            ttl = await self._store.refresh_lease(session.lease_id)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None
        self.last_heartbeat_ms[request.node] = typed.now_ms()
        if ttl <= 0:
            # The grace ran out before this heartbeat: the node was declared down.
            self._sessions.pop(request.session_id, None)
            await context.abort(grpc.StatusCode.NOT_FOUND, "session expired; register again")
        return dispatcher_pb2.HeartbeatResponse(period_ms=self._heartbeat_ms)

    async def UpdateTaskStatus(
        self, request: dispatcher_pb2.UpdateTaskStatusRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        await self._tls.require_node(context, request.node)
        if self._session(request.node, request.session_id) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown session; register again")
        view = self._mirror.view
        puts: dict[str, bytes] = {}
        for u in request.updates:
            task = view.tasks.get(u.task_id)
            if task is None:
                continue  # already deleted: the report is moot
            if task.node != request.node:
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"node {request.node} may not report task {u.task_id} of node {task.node}",
                )
            puts[keys.status_key(task.app, u.task_id)] = encode(u.status)
        items = list(puts.items())
        try:
            for i in range(0, len(items), _STATUS_PER_TXN):
                await self._store.commit(Commit(puts=dict(items[i : i + _STATUS_PER_TXN])))
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return dispatcher_pb2.UpdateTaskStatusResponse()

    async def PublishLogs(
        self,
        request_iterator: AsyncIterator[dispatcher_pb2.PublishLogsMessage],
        context: grpc.aio.ServicerContext,
    ) -> dispatcher_pb2.PublishLogsResponse:
        """Forward a node's container output to the Logs call that asked for it; returning
        early (nobody listens any more) tells the agent to stop reading."""
        checked = ""
        async for msg in request_iterator:
            if msg.node != checked:
                await self._tls.require_node(context, msg.node)
                checked = msg.node
            task = self._mirror.view.tasks.get(msg.task_id)
            if task is not None and task.node != msg.node:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                    f"task {msg.task_id} does not run on node {msg.node}")
            if not await self.logs.publish(msg):
                break
        return dispatcher_pb2.PublishLogsResponse()
