"""An agent restarted with SIGTERM (an upgrade) on a real host loses nothing.

The agent tells the server it is leaving, so its node stays ready through the restart,
though the agent is away far longer than the node grace (4 s): no task is rescheduled,
none is fenced off, and the restarted agent re-adopts the very same containers.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, cli_json, engine_containers, running_tasks, wait_for
from tests.e2e.test_agents import six_replicas

pytestmark = pytest.mark.e2e

AWAY_S = 15.0  # well past the node grace, inside the 20 s the promise names


def task_table(bed: TestbedStatus, app: str) -> dict[str, tuple[str, str]]:
    """Every task of the app: id -> (node, container id)."""
    tasks = cli_json(bed, "get", "tasks", "--app", app)
    return {t["id"]: (t["node"], t["container_id"]) for t in tasks}


def node_state(bed: TestbedStatus, host: str) -> str:
    return next(n["state"] for n in cli_json(bed, "get", "nodes") if n["name"] == host)


def down_events(bed: TestbedStatus, host: str) -> list[dict[str, Any]]:
    out = cli(bed, "events", "-o", "json").stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e for e in events if e.get("object") == host and "down" in e.get("message", "")]


def test_agent_restarted_with_sigterm_within_20s_loses_no_task(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    app = "upgrade"
    apply_text(bed, tmp_path, six_replicas(bed.image).replace("name: six", f"name: {app}"))
    try:
        wait_for("6 running", lambda: len(running_tasks(bed, app)) == 6)
        before = task_table(bed, app)
        host = next(node for node, _cid in before.values())
        started = {c["Id"]: c["State"]["StartedAt"]
                   for c in engine_containers(bed, app)[host]}
        downs_before = len(down_events(bed, host))

        pid = testbed.kill_agent(host, sig=signal.SIGTERM)  # waits for it to exit
        assert pid is not None
        assert not Path(f"/proc/{pid}").exists(), "the agent did not stop on SIGTERM"
        away_until = time.monotonic() + AWAY_S
        while time.monotonic() < away_until:  # bounded: AWAY_S
            assert node_state(bed, host) == "ready"
            assert task_table(bed, app) == before  # nothing rescheduled meanwhile
            time.sleep(1.0)
        testbed.start_agent(host)

        def readopted() -> bool:
            mine = {t["container_id"] for t in running_tasks(bed, app) if t["node"] == host}
            return mine == set(started)

        wait_for("the restarted agent reports its containers", readopted, timeout_s=60)
        assert task_table(bed, app) == before  # same task ids, nodes and containers
        now = {c["Id"]: c["State"]["StartedAt"] for c in engine_containers(bed, app)[host]}
        assert now == started  # the same containers, never restarted
        assert node_state(bed, host) == "ready"
        assert len(down_events(bed, host)) == downs_before
    finally:
        cli(bed, "delete", "app", app)
