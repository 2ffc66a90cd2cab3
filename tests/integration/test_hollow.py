"""Hollow nodes as a user meets them: `dockyard dev-cluster up --hollow 5`, an app applied
to it until every replica runs, and `dev-cluster down` leaving nothing behind.

Real processes throughout: the server with its etcd, the hollow agent processes (real
sessions, joins, certificates, heartbeats, status batches), and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.deploy.testbed.processes import pid_alive

pytestmark = pytest.mark.integration

APP = """
name: shop
services:
  db:
    image: busybox
    command: ["sleep", "3600"]
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    depends_on: [db]
    deploy:
      replicas: 8
"""


def dockyard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"dockyard {' '.join(args)}: {out.stderr}"
    return out


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    e = {**os.environ, "DOCKYARD_HOLLOW_DIR": str(tmp_path / "hollow"),
         "HOME": str(tmp_path / "home")}
    yield e
    # --hollow: this suite may run beside an e2e testbed, which a plain `down` would take.
    subprocess.run([sys.executable, "-m", "dockyard.cli", "dev-cluster", "down", "--hollow"], env=e,
                   capture_output=True, timeout=120)


def test_five_hollow_nodes_run_an_app_and_go_away_cleanly(env: dict[str, str],
                                                          tmp_path: Path) -> None:
    up = dockyard(env, "dev-cluster", "up", "--hollow", "5")
    exports = up.stdout.strip().splitlines()[-1].removeprefix("export ").split()
    cli = {**env, **dict(kv.split("=", 1) for kv in exports)}
    status = json.loads(dockyard(env, "dev-cluster", "status", "-o", "json").stdout)
    assert status["nodes"] == 5

    # The nodes joined for real: five distinct nodes, ready, each with a heartbeat.
    ready = []
    for _ in range(100):
        nodes = json.loads(dockyard(cli, "get", "nodes", "-o", "json").stdout)
        ready = [n for n in nodes if n["state"] == "ready"]
        if len(ready) == 5:
            break
    assert sorted(n["name"] for n in ready) == [f"hollow-{i:04d}" for i in range(5)]

    compose = tmp_path / "compose.yaml"
    compose.write_text(APP)
    dockyard(cli, "apply", "-f", str(compose), "--wait", "--timeout", "60")
    tasks = json.loads(dockyard(cli, "get", "tasks", "-o", "json").stdout)
    running = [t for t in tasks if t["state"] == "running" and t["desired"] == "running"]
    assert len(running) == 9
    assert {t["node"] for t in running} <= {n["name"] for n in ready}
    assert len({t["container_id"] for t in running}) == 9  # one container per task

    dockyard(env, "dev-cluster", "down", "--hollow")
    pids = [status["server_pid"], *(p["pid"] for p in status["processes"])]
    assert not [p for p in pids if pid_alive(p)]
    assert not (tmp_path / "hollow").exists()
