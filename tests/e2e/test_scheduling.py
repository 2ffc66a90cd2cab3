"""Scheduling on the testbed as a user sees it: impossible apps refused, pending apps
explained, replicas kept apart, spread apps spread, scaling and draining."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, cli_json, running_tasks, wait_for

pytestmark = pytest.mark.e2e


def app(name: str, image: str, *, replicas: int, cpus: str, memory: str = "16M",
        extra: str = "") -> str:
    return f"""
name: {name}
services:
  worker:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: {replicas}
      resources:
        reservations: {{cpus: "{cpus}", memory: {memory}}}
{extra}"""


def test_an_app_no_node_could_ever_hold_is_refused_with_the_reason(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    f = tmp_path / "huge.yaml"
    f.write_text(app("huge", bed.image, replicas=1, cpus="0.1", memory="64G"))
    out = cli(bed, "apply", "-f", str(f), check=False)
    assert out.returncode == 1
    assert "needs 64 GiB memory; the largest node has 2 GiB" in out.stderr, out.stderr
    assert "huge" not in {a["name"] for a in cli_json(bed, "get", "apps")}


def test_an_app_that_cannot_fit_yet_stays_pending_and_describe_says_why(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    # Each node offers 2 cpus: three tasks of 1.5 cpus fit, the fourth waits.
    apply_text(bed, tmp_path, app("tight", bed.image, replicas=4, cpus="1.5"))
    try:
        wait_for("3 running", lambda: len(running_tasks(bed, "tight")) == 3, timeout_s=60)
        desc = cli(bed, "describe", "app", "tight").stdout
        assert "0/3 nodes fit: 3 insufficient cpu" in desc, desc
        pending = [t for t in cli_json(bed, "get", "tasks", "--app", "tight")
                   if t["state"] == "pending"]
        assert len(pending) == 1 and "insufficient cpu" in pending[0]["message"]
    finally:
        cli(bed, "delete", "app", "tight")


def test_replicas_of_a_binpacked_service_land_on_every_host(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    # Binpack is the default; six small replicas would all fit on one host, but losing
    # that host would lose the service, so they go two to a host.
    apply_text(bed, tmp_path, app("apart", bed.image, replicas=6, cpus="0.1"))
    try:
        tasks = wait_for("6 running", lambda: (t := running_tasks(bed, "apart"))
                         and len(t) == 6 and t, timeout_s=90)
        per_host = Counter(str(t["node"]) for t in tasks)
        assert set(per_host) == {h.name for h in bed.hosts}, per_host
        assert max(per_host.values()) == 2, per_host
    finally:
        cli(bed, "delete", "app", "apart")


def test_a_spread_app_without_reservations_uses_every_host(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    services = "".join(f"""
  s{i}:
    image: {bed.image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
""" for i in range(5))
    apply_text(bed, tmp_path, f"""
name: wide
x-dockyard: {{strategy: spread}}
services:{services}""")
    try:
        tasks = wait_for("5 running", lambda: (t := running_tasks(bed, "wide"))
                         and len(t) == 5 and t, timeout_s=90)
        per_host = Counter(str(t["node"]) for t in tasks)
        assert set(per_host) == {h.name for h in bed.hosts}, per_host
        assert sorted(per_host.values()) == [1, 2, 2], per_host
    finally:
        cli(bed, "delete", "app", "wide")


def test_scale_up_and_down_keeps_one_task_per_slot(bed: TestbedStatus, tmp_path: Path) -> None:
    apply_text(bed, tmp_path, app("scaled", bed.image, replicas=2, cpus="0.1"))
    try:
        first = wait_for("2 running", lambda: (t := running_tasks(bed, "scaled"))
                         and len(t) == 2 and t, timeout_s=60)
        assert "scaled to 5" in cli(bed, "scale", "scaled/worker=5").stdout
        five = wait_for("5 running", lambda: (t := running_tasks(bed, "scaled"))
                        and len(t) == 5 and t, timeout_s=60)
        assert sorted(t["slot"] for t in five) == [1, 2, 3, 4, 5]
        cli(bed, "scale", "scaled/worker=1")
        one = wait_for("1 left", lambda: (t := cli_json(bed, "get", "tasks", "--app", "scaled"))
                       and len(t) == 1 and t, timeout_s=60)
        assert one[0]["id"] in {t["id"] for t in first}, "scale down removes the newest first"
        out = cli(bed, "scale", "scaled/nope=2", check=False)
        assert out.returncode == 1 and "no service" in out.stderr

        # The file is the source of truth: a re-apply sets the count back, and says so.
        reapplied = apply_text(bed, tmp_path, app("scaled", bed.image, replicas=2, cpus="0.1"))
        assert "replicas 1 -> 2 (the file's value; it was scaled by hand)" in reapplied
        back = wait_for("2 running again", lambda: (t := running_tasks(bed, "scaled"))
                        and len(t) == 2 and t, timeout_s=60)
        assert sorted(t["slot"] for t in back) == [1, 2]
        again = apply_text(bed, tmp_path, app("scaled", bed.image, replicas=2, cpus="0.1"))
        assert "unchanged" in again and "updated" not in again
    finally:
        cli(bed, "delete", "app", "scaled")


def test_drain_moves_tasks_off_and_activate_brings_the_node_back(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    apply_text(bed, tmp_path, app("drained", bed.image, replicas=3, cpus="0.1",
                                   extra="x-dockyard: {strategy: spread}\n"))
    try:
        tasks = wait_for("3 running", lambda: (t := running_tasks(bed, "drained"))
                         and len(t) == 3 and t, timeout_s=60)
        victim = tasks[0]["node"]
        assert "drained" in cli(bed, "node", "drain", victim).stdout
        wait_for("tasks moved", lambda: (t := running_tasks(bed, "drained")) and len(t) == 3
                 and all(x["node"] != victim for x in t), timeout_s=60)
        nodes = {n["name"]: n for n in cli_json(bed, "get", "nodes")}
        assert nodes[victim]["availability"] == "drain"
    finally:
        cli(bed, "node", "activate", victim)
        cli(bed, "delete", "app", "drained")
    nodes = {n["name"]: n for n in cli_json(bed, "get", "nodes")}
    assert nodes[victim]["availability"] == "active"


def test_a_changed_spec_rolls_out_one_slot_at_a_time(bed: TestbedStatus, tmp_path: Path) -> None:
    rolling = """    environment: {VERSION: "%s"}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, order: start-first}
"""
    base = f"""
name: roll
services:
  worker:
    image: {bed.image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
"""
    apply_text(bed, tmp_path, base + rolling % "1")
    try:
        first = wait_for("3 running", lambda: (t := running_tasks(bed, "roll"))
                         and len(t) == 3 and t, timeout_s=60)
        out = apply_text(bed, tmp_path, base + rolling % "2")
        assert "roll/worker updated" in out
        low = 3
        def rolled() -> bool:
            nonlocal low
            now = running_tasks(bed, "roll")
            low = min(low, len(now))
            ids = {t["id"] for t in now}
            return len(now) == 3 and not ids & {t["id"] for t in first}

        wait_for("all three replaced", rolled, timeout_s=90)
        assert low >= 3, "start-first with parallelism 1 should never run fewer than 3"
    finally:
        cli(bed, "delete", "app", "roll")
