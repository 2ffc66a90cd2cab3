"""The agent's session with the control plane: register, stream, heartbeat, report.

It dials one of the control-plane addresses, registers, and holds one Session stream.
Heartbeats go at the period the server sets. Status updates are batched. When anything
breaks, it reconnects with backoff, to the next address. A refused join token is final:
waiting never makes a wrong token right.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

from agent.runner import Runner

log = logging.getLogger("dockyard.agent")

_FLUSH_S = 0.05
_MAX_BACKOFF_S = 2.0


class JoinRefused(Exception):
    """The control plane refused this agent; retrying cannot help."""


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
            except (grpc.aio.AioRpcError, ConnectionError) as exc:
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                log.warning("session with %s ended: %s; reconnecting in %.1fs",
                            address, detail, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _one_session(self, address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = dispatcher_pb2_grpc.DispatcherStub(channel)
            try:
                reg = await stub.Register(
                    dispatcher_pb2.RegisterRequest(description=self._desc, token=self._token),
                    timeout=5,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.UNAUTHENTICATED,
                                  grpc.StatusCode.PERMISSION_DENIED):
                    raise JoinRefused(f"join refused by {address}: {exc.details()}") from None
                raise
            log.info("registered with %s as %s", address, self._desc.name)
            sid = reg.session_id
            name = self._desc.name
            period = reg.heartbeat_period_ms / 1000 or 1.0
            self._runner.resend_all()
            helpers = [
                asyncio.create_task(self._heartbeats(stub, name, sid, period)),
                asyncio.create_task(self._flusher(stub, name, sid)),
            ]
            try:
                stream = stub.Session(dispatcher_pb2.SessionRequest(node=name, session_id=sid))
                reader = asyncio.create_task(self._read(stream))
                done, _ = await asyncio.wait(
                    [reader, *helpers], return_when=asyncio.FIRST_COMPLETED
                )
                for t in done:
                    t.result()  # re-raise what ended the session
            finally:
                for t in helpers:
                    t.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)

    async def _read(self, stream: grpc.aio.UnaryStreamCall) -> None:
        async for msg in stream:
            self._runner.assign(msg)
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
