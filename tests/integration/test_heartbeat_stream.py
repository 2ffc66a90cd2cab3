"""The Heartbeats stream against a real server (controlplane/api/sessions.py,
agent/heartbeats.py): what an agent sees on it.

- a beat that asks is answered with the period; a beat that does not ask is not;
- a beat for a session the server does not know ends the stream NOT_FOUND (register
  again), and a beat naming another node ends it PERMISSION_DENIED;
- a node that beats only on the stream stays ready past several graces.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc
from tests.integration.harness import ServerProcess
from tests.integration.test_liveness import GRACE_S, agent, quick, state_is, states, until
from tests.integration.test_security import OPTS, joined, stop

pytestmark = pytest.mark.integration

__all__ = ["quick"]  # the fixture: a server with a 2 s grace and 0.5 s beats


def beat(node: str, session_id: str, *, ask: bool) -> dispatcher_pb2.HeartbeatRequest:
    return dispatcher_pb2.HeartbeatRequest(node=node, session_id=session_id, answer=ask)


def test_asked_beats_are_answered_and_unknown_sessions_end_the_stream(
    quick: ServerProcess,
) -> None:
    async def scenario() -> None:
        s, task = await joined(quick, "n1")
        await stop(task)  # its own session ends; the certificate stays usable
        async with grpc.aio.secure_channel(quick.address, s.identity.credentials(),
                                           options=OPTS) as ch:
            certs = dispatcher_pb2_grpc.CertificatesStub(ch)
            reg = await certs.Register(dispatcher_pb2.RegisterRequest(
                description=s._desc))
            stub = dispatcher_pb2_grpc.SessionsStub(ch)

            call = stub.Heartbeats()
            await call.write(beat("n1", reg.session_id, ask=False))
            await call.write(beat("n1", reg.session_id, ask=True))
            reply = await asyncio.wait_for(call.read(), 10)
            assert reply.period_ms == 500  # the server's --heartbeat
            await call.write(beat("n1", reg.session_id, ask=False))
            await call.write(beat("n1", "not-a-session", ask=False))
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await asyncio.wait_for(call.read(), 10)
            assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # one answer, not three

            other = stub.Heartbeats()
            await other.write(beat("n2", reg.session_id, ask=True))
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await asyncio.wait_for(other.read(), 10)
            assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "for node n1, not n2" in (exc.value.details() or "")

    asyncio.run(scenario())


def test_a_node_beating_on_the_stream_stays_ready(quick: ServerProcess, tmp_path: Path) -> None:
    async def scenario() -> None:
        task = asyncio.create_task(agent(quick, "n1", tmp_path).run_forever())
        try:
            await until("n1 ready", lambda: state_is(quick, {"n1": "ready"}), 30)
            await asyncio.sleep(4 * GRACE_S)
            assert await states(quick) == {"n1": "ready"}
        finally:
            await stop(task)

    asyncio.run(scenario())
    assert "no heartbeat for" not in quick.log_text()
