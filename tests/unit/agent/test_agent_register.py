"""What an agent does with a Register that fails: which failures are asked again on the
same connection, which end the attempt, and which keep the CA this process checked.

`Session._register` and `Session._join` are driven here with a stand-in for the
Register stub (the server's side is tests/integration/test_join_retry.py): the order of
calls and waits is what is checked, not the wire.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from dockyard.agent import identity as ident
from dockyard.agent.backoff import keeps_checked_ca
from dockyard.agent.runner import Runner
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.agent.session import Session, StatusBatch
from dockyard.common.retryhint import retry_after_metadata
from dockyard.controlplane.security import pki
from dockyard.v1 import dispatcher_pb2, objects_pb2

TOKEN = "dyt1-" + "ab" * 32 + "-secret"
ADDRESS = "127.0.0.1:9"  # never dialled: the stub stands in for the connection


def failure(code: grpc.StatusCode, details: str = "",
            trailing: tuple[tuple[str, str], ...] = ()) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing),
                                details)


class Stub:
    """Answers Register from a script: each item is a reply or a failure to raise."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[float] = []  # the time of each Register, and its deadline
        self.deadlines: list[float | None] = []

    async def Register(self, request: dispatcher_pb2.RegisterRequest, *,
                       timeout: float | None = None) -> dispatcher_pb2.RegisterResponse:
        self.calls.append(time.monotonic())
        self.deadlines.append(timeout)
        out = self.script.pop(0)
        if isinstance(out, BaseException):
            raise out
        assert isinstance(out, dispatcher_pb2.RegisterResponse)
        return out


def session(tmp_path: Path) -> Session:
    desc = objects_pb2.NodeDescription(name="n1")
    batch = StatusBatch()
    runner = Runner(driver=FakeDriver(), node="n1", state_dir=tmp_path, report=batch.add)
    return Session(addresses=[ADDRESS], token=TOKEN, description=desc, runner=runner,
                   batch=batch, rand=lambda: 0.0)


def test_a_register_that_timed_out_is_not_asked_again_on_its_connection(
        tmp_path: Path) -> None:
    stub = Stub([failure(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
                 dispatcher_pb2.RegisterResponse(session_id="never")])
    agent = session(tmp_path)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        asyncio.run(agent._register(stub, ADDRESS, csr=b"csr"))  # type: ignore[arg-type]
    assert exc.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(stub.calls) == 1  # the attempt ends: the session's backoff, a new deadline


def test_a_cancelled_register_ends_the_attempt_too(tmp_path: Path) -> None:
    stub = Stub([failure(grpc.StatusCode.CANCELLED), dispatcher_pb2.RegisterResponse()])
    with pytest.raises(grpc.aio.AioRpcError):
        asyncio.run(session(tmp_path)._register(stub, ADDRESS))  # type: ignore[arg-type]
    assert len(stub.calls) == 1


def test_a_refusal_with_a_wait_is_asked_again_on_the_same_connection_after_it(
        tmp_path: Path) -> None:
    hint = retry_after_metadata(0.3)
    stub = Stub([failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many joins", hint),
                 failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many joins", hint),
                 dispatcher_pb2.RegisterResponse(session_id="s1")])
    reply = asyncio.run(session(tmp_path)._register(stub, ADDRESS))  # type: ignore[arg-type]
    assert reply.session_id == "s1"
    assert len(stub.calls) == 3  # one stub: the same connection, no new handshake
    gaps = [b - a for a, b in zip(stub.calls, stub.calls[1:], strict=False)]
    assert all(g >= 0.3 for g in gaps)  # the server's wait is honoured


def test_only_a_busy_or_slow_server_keeps_the_checked_ca() -> None:
    for code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                 grpc.StatusCode.CANCELLED):
        assert keeps_checked_ca(code)
    for code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED,
                 grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL,
                 grpc.StatusCode.UNKNOWN):
        assert not keeps_checked_ca(code)


@pytest.mark.parametrize(("code", "kept"), [
    (grpc.StatusCode.DEADLINE_EXCEEDED, True),
    (grpc.StatusCode.CANCELLED, True),
    (grpc.StatusCode.UNAVAILABLE, False),
])
def test_a_join_that_timed_out_keeps_the_ca_check_and_one_refused_forgets_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: grpc.StatusCode,
        kept: bool) -> None:
    ca = pki.create_ca()
    checked = ident.CheckedCas()
    checked.keep(ADDRESS, TOKEN, ca.cert_pem)
    monkeypatch.setattr(ident, "CHECKED", checked)
    agent = session(tmp_path)

    async def fails(*_args: Any, **_kw: Any) -> dispatcher_pb2.RegisterResponse:
        raise failure(code)

    monkeypatch.setattr(agent, "_register", fails)
    with pytest.raises(grpc.aio.AioRpcError):
        asyncio.run(agent._join(ADDRESS))
    assert (checked.get(ADDRESS, TOKEN) == ca.cert_pem) is kept
