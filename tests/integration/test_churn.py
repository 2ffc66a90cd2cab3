"""Churn on a hollow cluster, checked as a user and in etcd: one task per slot through
an apply, a scale and a lost host; no status left behind by deleted tasks; events
bounded.

Real processes: the server with its etcd, two hollow agent processes (real sessions,
joins, heartbeats, status batches), and the CLI. Killing one hollow process loses its
four hosts at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.controlplane.events import EventBudget
from dockyard.controlplane.reconcile.decision import EVENTS_PER_ROUND
from dockyard.deploy.bench.scale_cluster import HollowCluster, up
from tests.integration.etcd_read import embedded_read

pytestmark = pytest.mark.integration

REPLICAS = 40


def app_text(replicas: int) -> str:
    return f"""
name: churn
x-dockyard: {{strategy: spread}}
services:
  web:
    image: busybox
    command: ["sleep", "3600"]
    deploy:
      replicas: {replicas}
      resources:
        reservations: {{cpus: "0.01", memory: 8M}}
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[HollowCluster]:
    c = up(0, root=tmp_path / "hollow")
    try:
        c.add_nodes(4, prefix="a-")
        c.add_nodes(4, prefix="b-")
        yield c
    finally:
        c.down()


def dockyard(c: HollowCluster, *args: str) -> str:
    env = {**os.environ, "DOCKYARD_SERVER": c.address,
           "DOCKYARD_CREDENTIALS": str(c.credentials)}
    out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"dockyard {' '.join(args)}: {out.stderr}"
    return out.stdout


def tasks(c: HollowCluster) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(dockyard(c, "get", "tasks", "-o", "json"))
    return rows


def live_per_slot(rows: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
    return Counter((t["service"], int(t["slot"])) for t in rows if t["desired"] == "running")


def wait_for(what: str, check: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    for _ in range(600):
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_churn_keeps_one_task_per_slot_and_leaves_nothing_behind(
        cluster: HollowCluster, tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    wait_for("8 ready nodes", lambda: sum(
        1 for n in json.loads(dockyard(cluster, "get", "nodes", "-o", "json"))
        if n["state"] == "ready") == 8)
    compose.write_text(app_text(REPLICAS))
    dockyard(cluster, "apply", "-f", str(compose), "--wait", "--timeout", "60")
    rows = tasks(cluster)
    assert set(live_per_slot(rows).values()) == {1} and len(live_per_slot(rows)) == REPLICAS
    running = [t for t in rows if t["state"] == "running"]
    assert len({t["container_id"] for t in running}) == REPLICAS  # one container per task

    # Scale down and up again at once: still one live task per slot.
    dockyard(cluster, "scale", "churn/web=10")
    dockyard(cluster, "scale", f"churn/web={REPLICAS}")

    # Lose four hosts at once (their process is killed).
    victim = next(g for g in cluster.groups if g.prefix == "b-")
    dead = set(victim.names())
    cluster.stop_group(victim, kill=True)

    def moved() -> bool:
        rows = tasks(cluster)
        ok = [t for t in rows if t["desired"] == "running" and t["state"] == "running"
              and t["node"] not in dead]
        return len(ok) == REPLICAS
    wait_for("the lost hosts' tasks running elsewhere", moved)
    rows = tasks(cluster)
    assert set(live_per_slot(rows).values()) == {1} and len(live_per_slot(rows)) == REPLICAS
    assert not [t for t in rows if t["node"] in dead and t["desired"] == "running"]

    # Events stay within the per-app budget (kept by the leader) plus one round's share.
    events, = embedded_read(cluster.data_dir, cluster.etcd_port, "/dockyard/events/churn/")
    assert 0 < events <= EventBudget().per_app_count + EVENTS_PER_ROUND + 1

    # Delete the app: its tasks go, and no status key outlives them in etcd.
    dockyard(cluster, "delete", "app", "churn")

    def gone() -> bool:
        counts = embedded_read(cluster.data_dir, cluster.etcd_port, "/dockyard/tasks/churn/",
                               "/dockyard/status/churn/")
        return counts == [0, 0]
    wait_for("no task and no status key of the deleted app", gone)
    statuses, = embedded_read(cluster.data_dir, cluster.etcd_port, "/dockyard/status/")
    assert statuses == 0
