"""A node whose agent is gone takes no new task before it is declared down
(controlplane/liveness.py's unreachable marks, read by the leader's placement).

Real server and etcd, real agent sessions with a stand-in runner. What a user sees:
the agent of one node stops without a goodbye (its host died); until the grace runs out
the node is still listed ready, yet an app applied meanwhile has none of its tasks
placed there; then the node is declared down and its mark is gone with its liveness key.
The live nodes are never marked.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import (
    ServerProcess,
    free_port,
    free_port_pair,
    run_cli,
    wait_port_free,
)
from tests.integration.test_liveness import agent, etcd, state_is, states, until
from tests.integration.test_security import stop

pytestmark = pytest.mark.integration

GRACE_S = 8.0  # long enough to apply an app between the agent's end and its node's

APP = """
name: spread
x-dockyard: {strategy: spread}
services:
  web:
    image: busybox
    command: ["sleep", "3600"]
    deploy:
      replicas: 6
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port_pair())
    srv.data_dir.mkdir()
    srv.start("--node-grace", str(GRACE_S), "--heartbeat", "0.5")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


def test_a_node_whose_agent_is_gone_gets_no_new_task_and_is_still_declared_at_the_grace(
    server: ServerProcess, tmp_path: Path
) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(APP)

    async def marked(node: str) -> bool:
        mark, alive = await etcd(server, f"/dockyard/unreachable/{node}",
                                 f"/dockyard/alive/{node}")
        return bool(mark) and mark == alive  # names the node's current session

    async def placed() -> list[dict[str, str]]:
        out = await asyncio.to_thread(run_cli, server, "get", "tasks", "-o", "json")
        rows: list[dict[str, str]] = json.loads(out.stdout)
        return rows if len(rows) == 6 and all(r["node"] for r in rows) else []

    async def scenario() -> None:
        names = ("n1", "n2", "n3")
        tasks = {n: asyncio.create_task(agent(server, n, tmp_path).run_forever())
                 for n in names}
        try:
            await until("all ready", lambda: state_is(server, dict.fromkeys(names, "ready")),
                        30)
            await stop(tasks.pop("n3"))  # no leave: as if its host died
            await until("n3 marked unreachable", lambda: marked("n3"), GRACE_S / 2)
            assert (await states(server))["n3"] == "ready"  # not declared any sooner
            await asyncio.to_thread(run_cli, server, "apply", "-f", str(compose))
            rows = await until("the app's tasks placed", placed, GRACE_S / 2)
            assert (await states(server))["n3"] == "ready"  # placed while n3 was ready
            assert {r["node"] for r in rows} <= {"n1", "n2"}
            await until("n3 down", lambda: state_is(server, {"n3": "down"}), 3 * GRACE_S)
            assert await etcd(server, *(f"/dockyard/unreachable/{n}" for n in names)) == [
                None, None, None]
            assert (await states(server))["n1"] == (await states(server))["n2"] == "ready"
        finally:
            for t in tasks.values():
                await stop(t)

    asyncio.run(scenario())
    assert "node n3: no heartbeat for" in server.log_text()
