"""Agents on real hosts: placement across engines, re-adoption, liveness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dockyard.common.jointoken import split_token
from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import (
    apply_text,
    cli,
    cli_json,
    engine_containers,
    running_tasks,
    wait_for,
)

pytestmark = pytest.mark.e2e


def six_replicas(image: str) -> str:
    return f"""
name: six
services:
  sleeper:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: 6
      resources:
        reservations: {{cpus: "0.5", memory: 64M}}
"""


def test_six_replicas_run_in_several_engines_and_match_get_tasks(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    apply_text(bed, tmp_path, six_replicas(bed.image))
    try:
        tasks = wait_for("6 running tasks", lambda: (t := running_tasks(bed, "six"))
                         and len(t) == 6 and t)
        per_host = engine_containers(bed, "six")
        running = {h: [c for c in cs if c["State"]["Running"]] for h, cs in per_host.items()}
        assert sum(len(cs) for cs in running.values()) == 6
        assert len([h for h, cs in running.items() if cs]) >= 2, running.keys()
        reported = {(t["node"], t["container_id"]) for t in tasks}
        actual = {(h, c["Id"]) for h, cs in running.items() for c in cs}
        assert reported == actual
    finally:
        cli(bed, "delete", "app", "six")
    wait_for("containers removed",
             lambda: all(not cs for cs in engine_containers(bed, "six").values()), timeout_s=60)


def test_agent_restart_readopts_containers_without_restarting_them(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    apply_text(bed, tmp_path, six_replicas(bed.image).replace("name: six", "name: adopt"))
    try:
        tasks = wait_for("6 running", lambda: (t := running_tasks(bed, "adopt"))
                         and len(t) == 6 and t)
        host = tasks[0]["node"]
        before = {c["Id"]: c["State"]["StartedAt"]
                  for c in engine_containers(bed, "adopt")[host]}
        testbed.kill_agent(host)
        testbed.start_agent(host)

        def same_and_reported() -> bool:
            now = {c["Id"]: c["State"]["StartedAt"]
                   for c in engine_containers(bed, "adopt")[host]}
            mine = {t["container_id"] for t in running_tasks(bed, "adopt") if t["node"] == host}
            return now == before and mine == set(before)

        wait_for("containers re-adopted", same_and_reported, timeout_s=30)
        nodes = {n["name"]: n for n in cli_json(bed, "get", "nodes")}
        assert nodes[host]["state"] == "ready"
    finally:
        cli(bed, "delete", "app", "adopt")


def test_cut_link_marks_node_down_within_grace_then_ready(bed: TestbedStatus) -> None:
    host = bed.hosts[-1].name
    testbed.cut_link(host)
    try:
        wait_for(f"{host} down", lambda: any(
            n["name"] == host and n["state"] == "down" for n in cli_json(bed, "get", "nodes")
        ), timeout_s=15)
    finally:
        testbed.restore_link(host)
    wait_for(f"{host} ready again", lambda: any(
        n["name"] == host and n["state"] == "ready" for n in cli_json(bed, "get", "nodes")
    ), timeout_s=30)


def test_get_nodes_shows_capacity_labels_and_heartbeat(bed: TestbedStatus) -> None:
    nodes = cli_json(bed, "get", "nodes")
    assert sorted(n["name"] for n in nodes) == sorted(h.name for h in bed.hosts)
    for n in nodes:
        assert n["state"] == "ready"
        assert n["cpu_millis"] == 2000 and n["memory_bytes"] == 2 * 1024**3
        assert n["address"].startswith("10.213.")
        assert n["last_heartbeat_ms"] > 0


def test_logs_come_from_every_node_running_the_service(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    apply_text(bed, tmp_path, f"""
name: talk
x-dockyard: {{strategy: spread}}
services:
  talker:
    image: {bed.image}
    command: ["sh", "-c", "echo hello from slot $$DOCKYARD_SLOT on $$DOCKYARD_NODE; sleep 86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
""")
    try:
        tasks = wait_for("2 running", lambda: (t := running_tasks(bed, "talk"))
                         and len(t) == 2 and t)
        def both_said_hello() -> str | None:
            out = cli(bed, "logs", "talk/talker").stdout
            return out if out.count("hello from slot") == 2 else None

        out = wait_for("both tasks' output", both_said_hello, timeout_s=20)
        for t in tasks:
            line = f"talker.{t['slot']}@{t['node']} | hello from slot {t['slot']} on {t['node']}"
            assert line in out, out
        one = cli(bed, "logs", "talk/talker/2").stdout
        assert one.count("hello from slot") == 1 and "talker.2@" in one
        bad = cli(bed, "logs", "talk/nobody", check=False)
        assert bad.returncode == 1 and "no container of talk/nobody" in bad.stderr
    finally:
        cli(bed, "delete", "app", "talk")


def test_join_token_stays_out_of_ps_and_agent_logs(bed: TestbedStatus) -> None:
    state = Path(bed.state_dir)
    _digest, secret = split_token((state / "server" / "join-token").read_text())
    assert len(secret) >= 32
    now = testbed.status()  # agents restarted by earlier tests have new pids
    assert now is not None
    for h in now.hosts:
        assert h.agent_pid is not None, h.name
        cmdline = Path(f"/proc/{h.agent_pid}/cmdline").read_bytes()
        assert b"--token-file" in cmdline and secret.encode() not in cmdline, h.name
        assert secret.encode() not in Path(f"/proc/{h.agent_pid}/environ").read_bytes()
        log = state / h.name / "agent.log"
        assert "joined through" in log.read_text() or "registered with" in log.read_text()
        assert secret not in log.read_text(), h.name
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, timeout=30)
    assert ps.returncode == 0 and secret not in ps.stdout
    assert secret not in (state / "state.json").read_text()
