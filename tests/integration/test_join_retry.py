"""A Register refused because a source joins too fast is answered at once with a wait,
before any work is done for it; the agent waits as told, asks again on the same
connection, and joins.

Against a real server (`--join-rate 0.2/1`: one join every five seconds from one address) and a
real etcd; the agent is the real `agent.session.Session` with a stand-in runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from dockyard.agent import identity as ident
from dockyard.common.retryhint import retry_after_s
from dockyard.v1 import dispatcher_pb2_grpc
from tests.integration.conftest import running_server
from tests.integration.harness import ServerProcess
from tests.integration.test_node_identity import join_channel, node_state, register
from tests.integration.test_security import joined, stop

pytestmark = pytest.mark.integration


@pytest.fixture
def slow_join_server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path, "--join-rate", "0.2/1")


def test_a_refused_register_is_retried_by_the_agent_and_succeeds(
        slow_join_server: ServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    server = slow_join_server
    caplog.set_level(logging.WARNING, logger="dockyard.agent")

    async def scenario() -> None:
        # The address's one join is spent; the next Register is refused at once, with a
        # wait, and nothing is written for it.
        async with join_channel(server, "first") as channel:
            stub = dispatcher_pb2_grpc.CertificatesStub(channel)
            await stub.Register(register("first", ident.Identity.fresh("first").csr()),
                                timeout=10)
        async with join_channel(server, "late") as channel:
            stub = dispatcher_pb2_grpc.CertificatesStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await stub.Register(register("late", ident.Identity.fresh("late").csr()),
                                    timeout=10)
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "too many joins" in (exc.value.details() or "")
        assert retry_after_s(exc.value.trailing_metadata()) > 0
        assert node_state(server, "late") is None

        # A real agent asks at once, is refused, waits as told, asks again and joins.
        agent, task = await joined(server, "n1", within_s=40)
        try:
            assert agent.identity.cert
            for _ in range(100):
                if node_state(server, "n1") == "ready":
                    break
                await asyncio.sleep(0.2)
            assert node_state(server, "n1") == "ready"
            assert not task.done()
        finally:
            await stop(task)
        retries = [r.getMessage() for r in caplog.records if "asking again" in r.getMessage()]
        assert retries and "too many joins" in retries[0], retries

    asyncio.run(scenario())
