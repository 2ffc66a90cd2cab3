"""The agent's session with the control plane: register, stream, heartbeat, report.

It dials one of the control-plane addresses, registers, and holds one Session stream.
Heartbeats go at the period the server sets. Status updates are batched. When anything
breaks, it reconnects with backoff, to the next address. A refused join token is final:
waiting never makes a wrong token right.

Everything is mutual TLS (agent/identity.py): the first Register goes with a join
certificate made from the token and returns the node certificate; later sessions use that
certificate. At 2/3 of its lifetime the agent renews it (Renew, with a new key) and
reconnects with the new one, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc

from agent import identity as ident
from agent.logs import publish_logs
from agent.runner import Runner
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

log = logging.getLogger("dockyard.agent")

_FLUSH_S = 0.05
_MAX_BACKOFF_S = 2.0


class JoinRefused(Exception):
    """The control plane refused this agent; retrying cannot help."""


class Renewed(Exception):
    """The node certificate was renewed: reconnect with it."""


class StatusBatch:
    """Statuses waiting to be sent, newest per task."""

    def __init__(self) -> None:
        self.pending: dict[str, objects_pb2.TaskStatus] = {}
        self.ready = asyncio.Event()

    def add(self, task_id: str, status: objects_pb2.TaskStatus) -> None:
        self.pending[task_id] = status
        self.ready.set()

    def take(self) -> dict[str, objects_pb2.TaskStatus]:
        out, self.pending = self.pending, {}
        self.ready.clear()
        return out

    def put_back(self, items: dict[str, objects_pb2.TaskStatus]) -> None:
        for k, v in items.items():
            self.pending.setdefault(k, v)
        if self.pending:
            self.ready.set()


class Session:
    def __init__(
        self,
        *,
        addresses: Sequence[str],
        token: str,
        description: objects_pb2.NodeDescription,
        runner: Runner,
        batch: StatusBatch,
    ) -> None:
        self._addresses = list(addresses)
        self._token = token
        self._desc = description
        self._runner = runner
        self._batch = batch
        self.identity = ident.Identity.fresh(description.name)
        self._log_streams: set[asyncio.Task[None]] = set()

    async def run_forever(self) -> None:
        backoff = 0.1
        attempt = 0
        while True:
            address = self._addresses[attempt % len(self._addresses)]
            attempt += 1
            try:
                await self._one_session(address)
                backoff = 0.1
            except JoinRefused:
                raise
            except Renewed:
                log.info("node certificate renewed; reconnecting with it")
                backoff = 0.1
                continue
            except (grpc.aio.AioRpcError, ConnectionError) as exc:
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                log.warning("session with %s ended: %s; reconnecting in %.1fs",
                            address, detail, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _join(self, address: str) -> dispatcher_pb2.RegisterResponse:
        """Register with a join certificate made from the token; keep the node certificate."""
        try:
            ca = await asyncio.to_thread(ident.trusted_ca, address, self._token, self._desc.name)
        except ident.TokenRefused as exc:
            raise JoinRefused(str(exc)) from None
        _digest, secret = ident.split_token(self._token)
        cert, key = ident.join_certificate(secret, self._desc.name)
        creds = ident.join_credentials(ca, cert, key)
        async with grpc.aio.secure_channel(address, creds,
                                           options=ident.CHANNEL_OPTIONS) as channel:
            reg = await self._register(dispatcher_pb2_grpc.DispatcherStub(channel), address,
                                       csr=self.identity.csr())
        if not reg.certificate:
            raise ConnectionError(f"{address} sent no node certificate")
        self.identity.adopt(reg.certificate, reg.ca_certificate or ca)
        log.info("joined through %s; node certificate valid %.0fs", address,
                 self.identity.expires() - self.identity.received)
        return reg

    async def _register(self, stub: dispatcher_pb2_grpc.DispatcherStub, address: str,
                        csr: bytes = b"") -> dispatcher_pb2.RegisterResponse:
        try:
            reply: dispatcher_pb2.RegisterResponse = await stub.Register(
                dispatcher_pb2.RegisterRequest(description=self._desc, csr=csr), timeout=5)
            return reply
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED,
                              grpc.StatusCode.PERMISSION_DENIED):
                raise JoinRefused(f"join refused by {address}: {exc.details()}") from None
            raise

    async def _one_session(self, address: str) -> None:
        reg = await self._join(address) if not self.identity.usable() else None
        async with grpc.aio.secure_channel(address, self.identity.credentials(),
                                           options=ident.CHANNEL_OPTIONS) as channel:
            stub = dispatcher_pb2_grpc.DispatcherStub(channel)
            if reg is None:
                reg = await self._register(stub, address)
            log.info("registered with %s as %s", address, self._desc.name)
            sid = reg.session_id
            name = self._desc.name
            period = reg.heartbeat_period_ms / 1000 or 1.0
            self._runner.resend_all()
            helpers = [
                asyncio.create_task(self._heartbeats(stub, name, sid, period)),
                asyncio.create_task(self._flusher(stub, name, sid)),
                asyncio.create_task(self._renewer(stub)),
            ]
            try:
                stream = stub.Session(dispatcher_pb2.SessionRequest(node=name, session_id=sid))
                reader = asyncio.create_task(self._read(stream, stub, name))
                done, _ = await asyncio.wait(
                    [reader, *helpers], return_when=asyncio.FIRST_COMPLETED
                )
                if reader not in done:
                    reader.cancel()
                for t in done:
                    t.result()  # re-raise what ended the session
            finally:
                for t in helpers:
                    t.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)

    async def _renewer(self, stub: dispatcher_pb2_grpc.DispatcherStub) -> None:
        """At 2/3 of the certificate's life: a new key, a new certificate, a new session."""
        while True:
            await asyncio.sleep(self.identity.renew_in())
            key = ident.new_key()
            try:
                reply = await stub.Renew(
                    dispatcher_pb2.RenewRequest(csr=self.identity.csr(key)), timeout=5)
            except grpc.aio.AioRpcError as exc:
                log.warning("certificate renewal failed: %s; retrying", exc.details())
                await asyncio.sleep(min(5.0, max(0.5, self.identity.renew_in() / 10)))
                continue
            self.identity.adopt(reply.certificate, reply.ca_certificate, key)
            raise Renewed()

    async def _read(
        self, stream: grpc.aio.UnaryStreamCall, stub: dispatcher_pb2_grpc.DispatcherStub,
        node: str,
    ) -> None:
        async for msg in stream:
            self._runner.assign(msg)
            for sub in msg.subscriptions:
                task = asyncio.create_task(publish_logs(
                    stub=stub, node=node, sub=sub, driver=self._runner.driver,
                    container_of=self._runner.container_of))
                self._log_streams.add(task)
                task.add_done_callback(self._log_streams.discard)
        raise ConnectionError("the control plane closed the session")

    async def _heartbeats(
        self, stub: dispatcher_pb2_grpc.DispatcherStub, node: str, sid: str, period: float
    ) -> None:
        while True:
            await asyncio.sleep(period)
            reply = await stub.Heartbeat(
                dispatcher_pb2.HeartbeatRequest(node=node, session_id=sid), timeout=max(period, 2)
            )
            period = reply.period_ms / 1000 or period

    async def _flusher(self, stub: dispatcher_pb2_grpc.DispatcherStub, node: str, sid: str) -> None:
        while True:
            await self._batch.ready.wait()
            await asyncio.sleep(_FLUSH_S)
            items = self._batch.take()
            if not items:
                continue
            req = dispatcher_pb2.UpdateTaskStatusRequest(
                node=node,
                session_id=sid,
                updates=[dispatcher_pb2.TaskStatusUpdate(task_id=k, status=v)
                         for k, v in items.items()],
            )
            try:
                await stub.UpdateTaskStatus(req, timeout=5)
            except grpc.aio.AioRpcError:
                self._batch.put_back(items)
                raise
