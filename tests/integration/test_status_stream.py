"""Task statuses on the TaskStatuses stream (controlplane/api/sessions.py,
agent/statusflush.py), against a real server and etcd, and an agent's fallback to one
call per batch against a gRPC server that does not know the stream.

- each batch on the stream is answered, in order, and the stream stays open for the
  next; a batch of an unknown session ends it NOT_FOUND, a batch naming another node
  PERMISSION_DENIED;
- hollow nodes (the real session and runner over the in-memory runtime) bring an app to
  running with every status batch on the stream and none as a call;
- against a server without the stream, the agent's statuses arrive as calls, none lost;
- a stream the server ends with RESOURCE_EXHAUSTED is dropped: the batch comes again on
  a new stream, and nothing more is written on the ended one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from dockyard.agent import statusflush
from dockyard.agent.session import Session, StatusBatch
from dockyard.deploy.bench.scale_hollow import HollowNode
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2
from tests.integration.harness import ServerProcess, free_port, run_cli
from tests.integration.test_liveness import until
from tests.integration.test_security import OPTS, FakeRunner, joined, stop, token_of

pytestmark = pytest.mark.integration

APP = """
name: shop
services:
  web:
    image: busybox
    deploy:
      replicas: 6
"""


def batch(node: str, session_id: str, *task_ids: str) -> dispatcher_pb2.UpdateTaskStatusRequest:
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING)
    return dispatcher_pb2.UpdateTaskStatusRequest(
        node=node, session_id=session_id,
        updates=[dispatcher_pb2.TaskStatusUpdate(task_id=t, status=running) for t in task_ids])


def status_batches(server: ServerProcess) -> dict[str, float]:
    """dockyard_status_batches_total by way, from the server's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/metrics",
                                timeout=5) as reply:
        text = reply.read().decode()
    return {way: float(n) for way, n in re.findall(
        r'^dockyard_status_batches_total\{way="(\w+)"\} (\S+)$', text, re.M)}


def test_batches_on_the_stream_are_answered_in_turn_and_bad_ones_end_it(
        server: ServerProcess) -> None:
    async def scenario() -> None:
        s, task = await joined(server, "n1")
        await stop(task)  # its own session ends; the certificate stays usable
        async with grpc.aio.secure_channel(server.address, s.identity.credentials(),
                                           options=OPTS) as ch:
            reg = await dispatcher_pb2_grpc.CertificatesStub(ch).Register(
                dispatcher_pb2.RegisterRequest(description=s._desc))
            stub = dispatcher_pb2_grpc.SessionsStub(ch)
            call = stub.TaskStatuses()
            for n in range(3):  # tasks that do not exist: moot, and answered all the same
                await call.write(batch("n1", reg.session_id, f"gone{n}"))
                reply = await asyncio.wait_for(call.read(), 10)
                assert reply.retry_after_ms == 0
            await call.write(batch("n1", "not-a-session", "gone"))
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await asyncio.wait_for(call.read(), 10)
            assert exc.value.code() == grpc.StatusCode.NOT_FOUND

            other = stub.TaskStatuses()
            await other.write(batch("n2", reg.session_id, "gone"))
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await asyncio.wait_for(other.read(), 10)
            assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert status_batches(server).get("stream", 0) >= 3

    asyncio.run(scenario())


def test_hollow_nodes_report_on_the_stream_only(server: ServerProcess, tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = [HollowNode.make(name=f"h{i}", join=[server.address], token=token_of(server),
                                 state_dir=tmp_path, labels={}) for i in range(3)]
        for n in nodes:
            n.start()
        try:
            (tmp_path / "app.yaml").write_text(APP)
            await asyncio.to_thread(run_cli, server, "apply", "-f", str(tmp_path / "app.yaml"),
                                    "--wait")

            async def all_running() -> bool:
                out = await asyncio.to_thread(run_cli, server, "get", "tasks")
                return out.stdout.count("running") >= 6
            await until("six tasks running", all_running, 60)
        finally:
            for n in nodes:
                await n.stop()
        ways = status_batches(server)
        assert ways.get("stream", 0) >= 3  # each node reported
        assert ways.get("call", 0) == 0

    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def loopback(servicer: dispatcher_pb2_grpc.SessionsServicer
                   ) -> AsyncIterator[dispatcher_pb2_grpc.SessionsStub]:
    """`servicer` served on loopback (no TLS), and a stub for it."""
    grpc_server = grpc.aio.server()
    dispatcher_pb2_grpc.add_SessionsServicer_to_server(servicer, grpc_server)
    port = free_port()
    grpc_server.add_insecure_port(f"127.0.0.1:{port}")
    await grpc_server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            yield dispatcher_pb2_grpc.SessionsStub(ch)
    finally:
        await grpc_server.stop(None)


@contextlib.asynccontextmanager
async def other_server(servicer: dispatcher_pb2_grpc.SessionsServicer, server: ServerProcess
                       ) -> AsyncIterator[tuple[dispatcher_pb2_grpc.SessionsStub, Session,
                                                StatusBatch]]:
    """`servicer` on loopback, a stub for it, and an agent's session with its status
    batch (the real server only gives the session its token)."""
    statuses = StatusBatch()
    agent = Session(addresses=[server.address], token=token_of(server),
                    description=objects_pb2.NodeDescription(name="n1"),
                    runner=FakeRunner(), batch=statuses)  # type: ignore[arg-type]
    async with loopback(servicer) as stub:
        yield stub, agent, statuses



class CallsOnly(dispatcher_pb2_grpc.SessionsServicer):
    """A server from before the stream: statuses only as UpdateTaskStatus calls."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    async def UpdateTaskStatus(self, request: dispatcher_pb2.UpdateTaskStatusRequest,
                               context: grpc.aio.ServicerContext
                               ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        for u in request.updates:
            self.seen[u.task_id] = u.status.state
        return dispatcher_pb2.UpdateTaskStatusResponse()


def test_an_agent_falls_back_to_calls_when_the_server_has_no_stream(
        server: ServerProcess) -> None:
    async def scenario() -> None:
        old = CallsOnly()
        async with other_server(old, server) as (stub, agent, statuses):
            statuses.add("t1", objects_pb2.TaskStatus(state=objects_pb2.PREPARING))
            flusher = asyncio.create_task(agent._flusher(stub, "n1", "sid"))
            statuses.add("t2", objects_pb2.TaskStatus(state=objects_pb2.RUNNING))

            async def both() -> bool:
                return set(old.seen) == {"t1", "t2"}
            await until("both statuses as calls", both, 20)
            statuses.add("t1", objects_pb2.TaskStatus(state=objects_pb2.RUNNING))

            async def newer() -> bool:
                return old.seen.get("t1") == objects_pb2.RUNNING
            await until("the newer status", newer, 20)
            assert not flusher.done()
            await stop(flusher)

    asyncio.run(scenario())


class Recorded(dispatcher_pb2_grpc.SessionsServicer):
    """A server that records each batch of each TaskStatuses stream (its number, its
    task ids) and answers as `answer` says."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, list[str]]] = []  # (stream number, task ids)
        self.streams = 0

    async def TaskStatuses(self, request_iterator: object, context: grpc.aio.ServicerContext
                           ) -> object:
        self.streams += 1
        stream_no = self.streams
        async for request in request_iterator:  # type: ignore[attr-defined]
            self.batches.append((stream_no, sorted(u.task_id for u in request.updates)))
            yield await self.answer(stream_no, context)

    async def answer(self, stream_no: int, context: grpc.aio.ServicerContext
                     ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        raise NotImplementedError


class Behind(Recorded):
    """A server behind on status writes for its first answer: the batch must come
    again, on the same stream, after the wait it names."""

    async def answer(self, stream_no: int, context: grpc.aio.ServicerContext
                     ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        wait = 200 if len(self.batches) == 1 else 0
        return dispatcher_pb2.UpdateTaskStatusResponse(retry_after_ms=wait)


def test_a_batch_refused_with_a_wait_comes_again_on_the_same_stream(
        server: ServerProcess) -> None:
    async def scenario() -> None:
        behind = Behind()
        async with other_server(behind, server) as (stub, agent, statuses):
            statuses.add("t1", objects_pb2.TaskStatus(state=objects_pb2.RUNNING))
            flusher = asyncio.create_task(agent._flusher(stub, "n1", "sid"))

            async def twice() -> bool:
                return len(behind.batches) >= 2
            await until("the batch sent again", twice, 20)
            assert behind.batches[:2] == [(1, ["t1"]), (1, ["t1"])]
            assert not statuses.pending  # written the second time
            await stop(flusher)

    asyncio.run(scenario())


class EndsExhausted(Recorded):
    """Ends its first stream RESOURCE_EXHAUSTED at its first batch (a server out of
    room for streams); answers every batch of later streams."""

    async def answer(self, stream_no: int, context: grpc.aio.ServicerContext
                     ) -> dispatcher_pb2.UpdateTaskStatusResponse:
        if stream_no == 1:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "no room for streams")
        return dispatcher_pb2.UpdateTaskStatusResponse()


class WritesSeen:
    """The agent's side of the stub: every TaskStatuses call it opens, with the writes
    made on each (what the server cannot see once its end is closed)."""

    def __init__(self, stub: dispatcher_pb2_grpc.SessionsStub) -> None:
        self._stub = stub
        self.writes: list[int] = []  # per call, in the order opened

    def TaskStatuses(self) -> object:
        call = self._stub.TaskStatuses()
        index = len(self.writes)
        self.writes.append(0)
        seen = self

        class Counted:
            async def write(self, request: object) -> None:
                seen.writes[index] += 1
                await call.write(request)

            async def read(self) -> object:
                return await call.read()

            def cancel(self) -> bool:
                return call.cancel()

        return Counted()


def test_a_stream_ended_resource_exhausted_is_dropped_and_the_batch_goes_on_a_new_one(
        ) -> None:
    async def scenario() -> None:
        ends = EndsExhausted()
        async with loopback(ends) as stub:
            seen = WritesSeen(stub)
            statuses = StatusBatch()
            statuses.add("t1", objects_pb2.TaskStatus(state=objects_pb2.RUNNING))
            flusher = asyncio.create_task(statusflush.stream(
                seen, statuses, node="n1", session_id="sid",  # type: ignore[arg-type]
                retry_s=lambda code, n, hint: 0.05, timeout_s=lambda n: 10.0))

            async def on_a_new_stream() -> bool:
                return (2, ["t1"]) in ends.batches
            await until("the batch sent again on a new stream", on_a_new_stream, 20)
            assert ends.batches[:2] == [(1, ["t1"]), (2, ["t1"])]
            assert seen.writes[:2] == [1, 1]  # the ended stream was written once, only
            assert not statuses.pending  # written the second time
            assert not flusher.done()
            await stop(flusher)

    asyncio.run(scenario())
