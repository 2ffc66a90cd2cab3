"""Task statuses to the control plane on one long stream (the TaskStatuses rpc).

An agent sends its node's statuses in batches, one batch in flight (newest per task,
agent/session.py). Sent as one UpdateTaskStatus call each, every batch cost the server
gRPC's whole per-call work: a new call picked up by its event loop, its metadata, the
role check, its completion events; about three times what a message on a stream that
is already open costs, and a busy server picks up new calls late. So the agent opens
one TaskStatuses stream per session and writes each batch on it; the server answers
each in order, once its statuses are in etcd, or with a wait when it is behind on
status writes (`retry_after_ms`, what an UpdateTaskStatus refusal says in its trailer).

Nothing else changes: one batch in flight, so a task's statuses stay in order; a batch
that is not written goes back into the batch (merged with newer statuses, nothing
grows) and is sent again after the caller's backoff, for as long as the session lives;
a stream that breaks, or whose answer is late, is given up (its batch sent again on a
new stream). A refusal that waiting cannot change ends the session, as a call's would.
A server that does not know the rpc (an older version) says UNIMPLEMENTED before it
ever answers, and the caller falls back to one call per batch (`calls`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc

from dockyard.agent.backoff import retry_hint_s
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

log = logging.getLogger("dockyard.agent")

FLUSH_S = 0.05  # statuses that come within this of each other go in one batch

Retry = Callable[[grpc.StatusCode, int, float], "float | None"]  # (code, failures, hint)


class Unsupported(Exception):
    """The server does not serve the TaskStatuses stream: send one call per batch."""


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


def request_of(node: str, session_id: str, items: dict[str, objects_pb2.TaskStatus]
               ) -> dispatcher_pb2.UpdateTaskStatusRequest:
    """One batch as a request. Pure."""
    return dispatcher_pb2.UpdateTaskStatusRequest(
        node=node, session_id=session_id,
        updates=[dispatcher_pb2.TaskStatusUpdate(task_id=k, status=v) for k, v in items.items()])


async def _exchange(call: grpc.aio.StreamStreamCall,
                    request: dispatcher_pb2.UpdateTaskStatusRequest
                    ) -> dispatcher_pb2.UpdateTaskStatusResponse:
    """Write one batch and read its answer; raises the AioRpcError that ended the
    stream, or ConnectionError when the server closed it without one."""
    try:
        await call.write(request)
    except asyncio.InvalidStateError:
        pass  # the stream has ended: the read says why
    reply = await call.read()
    if reply is grpc.aio.EOF:
        raise ConnectionError("the control plane closed the status stream")
    assert isinstance(reply, dispatcher_pb2.UpdateTaskStatusResponse)
    return reply


class Retries:
    """One flusher's batches: the next to send, and after a failure in a row of
    `failures`, the batch put back and the wait before the next (`retry_s`). Shared by
    the stream and the one-call-per-batch flusher."""

    def __init__(self, batch: StatusBatch, retry_s: Retry) -> None:
        self._batch = batch
        self._retry_s = retry_s
        self.failures = 0
        self.wait = FLUSH_S

    async def next_items(self) -> dict[str, objects_pb2.TaskStatus]:
        """The statuses to send next, once there are any and the wait is over."""
        while True:
            await self._batch.ready.wait()
            await asyncio.sleep(self.wait)
            items = self._batch.take()
            if items:
                return items

    def sent(self) -> None:
        self.failures, self.wait = 0, FLUSH_S

    def failed(self, items: dict[str, objects_pb2.TaskStatus], code: grpc.StatusCode,
               hint_s: float, detail: str) -> bool:
        """`items` were not written: put back (merged with newer statuses, newest per
        task: nothing grows) and counted. False when the session is over (`retry_s`
        said None); else the next batch waits what `retry_s` said (FLUSH_S for 0)."""
        self._batch.put_back(items)
        self.failures += 1
        retry = self._retry_s(code, self.failures, hint_s)
        if retry is None:
            return False
        self.wait = retry or FLUSH_S
        if self.failures == 1 or self.failures % 10 == 0:  # a line, not a flood
            log.warning("status update failed (%d in a row): %s; retrying in %.1fs",
                        self.failures, detail or code, self.wait)
        return True


async def stream(stub: dispatcher_pb2_grpc.SessionsStub, batch: StatusBatch, *, node: str,
                 session_id: str, retry_s: Retry, timeout_s: Callable[[int], float]) -> None:
    """Send `batch` on TaskStatuses streams until the session ends: returns never,
    raises the AioRpcError that ends the session (`retry_s` said None for its code),
    or Unsupported (the batch put back) when the server does not know the rpc.
    `retry_s(code, failures, hint_s)` is the wait before a batch is sent again after
    `failures` in a row; `timeout_s(failures)` how long its answer may take."""
    retries = Retries(batch, retry_s)
    answered = False  # an answer came on a stream of this session
    call: grpc.aio.StreamStreamCall | None = None
    try:
        while True:
            items = await retries.next_items()
            if call is None:
                call = stub.TaskStatuses()
            code, hint, detail = grpc.StatusCode.OK, 0.0, ""
            error: grpc.aio.AioRpcError | None = None
            keep = False  # the stream stays open only for an answer that says to wait
            try:
                async with asyncio.timeout(timeout_s(retries.failures)):
                    reply = await _exchange(call, request_of(node, session_id, items))
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED and not answered:
                    batch.put_back(items)
                    raise Unsupported() from None
                code, hint, detail = exc.code(), retry_hint_s(exc), exc.details() or ""
                error = exc
            except TimeoutError:
                code, detail = grpc.StatusCode.DEADLINE_EXCEEDED, "no answer in time"
            except ConnectionError as exc:
                code, detail = grpc.StatusCode.UNAVAILABLE, str(exc)
            else:
                answered = True
                if not reply.retry_after_ms:
                    retries.sent()
                    continue
                code, hint = grpc.StatusCode.RESOURCE_EXHAUSTED, reply.retry_after_ms / 1000
                detail, keep = "behind on status writes", True
            if not keep:
                call.cancel()  # ended, broken or late: the batch goes again on a new stream
                call = None
            if not retries.failed(items, code, hint, detail) and error is not None:
                raise error  # a refusal that waiting cannot change: the session is over
    finally:
        if call is not None:
            call.cancel()


async def calls(stub: dispatcher_pb2_grpc.SessionsStub, batch: StatusBatch, *, node: str,
                session_id: str, retry_s: Retry, timeout_s: Callable[[int], float]) -> None:
    """Send `batch` one UpdateTaskStatus call per batch, one in flight, for a server
    without the TaskStatuses stream. A batch that fails goes back into the batch and is
    sent again after `retry_s`, with a longer timeout, for as long as the session lives;
    only a refusal that waiting cannot change ends the session (raised)."""
    retries = Retries(batch, retry_s)
    while True:
        items = await retries.next_items()
        req = request_of(node, session_id, items)
        try:
            await stub.UpdateTaskStatus(req, timeout=timeout_s(retries.failures))
        except grpc.aio.AioRpcError as exc:
            if not retries.failed(items, exc.code(), retry_hint_s(exc), exc.details() or ""):
                raise
            continue
        retries.sent()
