"""`make bench-scale` in its reduced form (BENCH_SCALE=tiny: 50 replicas on a cluster of
11 hollow nodes of its own first, then 20 nodes, 200 replicas, 2 apps of 3 services), as
a user runs it: it ends with exit code 0, says how
each phase went while it runs, prints every figure of its report, and writes the JSON
with every figure. Timings are the benchmark's business, not this test's: no figure is
held to a threshold here.

Real processes throughout: the bench itself, a `dockyard server` with its etcd, the
hollow agent processes and the CLI it times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.deploy.bench import scale_cluster

pytestmark = pytest.mark.integration

PHASES = ["seed cluster of 11:", "apply on 11 nodes:", "server:", "join of 1 node:",
          "join of 9 more:", "apply on 10 nodes:",
          "delete the baseline:", "join of 10:", "apply on 20 nodes:", "reads:",
          "failover of 2 nodes:", "one app:", "2 apps:", "done:"]
FIGURES = ["apply 50 replicas on 11 nodes", "join of 10 nodes at once",
           "apply 200 replicas on 20 nodes",
           "duplicated slots after apply", "get tasks -o json", "of which the ListTasks call",
           "server RSS", "etcd RSS", "etcd DB size", "failover of 2 nodes",
           "duplicated slots after failover", "2 apps of 3 services",
           "alive nodes seen down", "agent exits", "CPU seconds"]
WAITS = ["apply_seed", "join_1", "join_n", "apply_10_nodes", "apply_n_nodes", "failover", "one_app",
         "many_apps"]
NUMBERS = ["get_tasks_s", "list_tasks_rpc_s", "get_apps_s", "tasks_listed",
           "duplicates_after_apply", "duplicates_after_failover", "agent_exits"]


def test_the_reduced_bench_reports_every_figure(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_SCALE": "tiny", "TMPDIR": str(tmp_path),
           "HOME": str(tmp_path / "home")}
    try:
        out = subprocess.run([sys.executable, "-m", "dockyard.deploy.bench.scale"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=240)
    finally:  # a bench killed by the timeout leaves its cluster: take it down
        for root in tmp_path.glob("dockyard-scale-*"):
            scale_cluster.down(root)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()

    # One progress line per phase, in order, each stamped with the time since the start.
    progress = [line for line in lines if line.startswith("[")]
    for phase in PHASES:
        assert any(phase in line for line in progress), f"no progress line for {phase}"
    assert [next(i for i, line in enumerate(progress) if p in line) for p in PHASES] == sorted(
        next(i for i, line in enumerate(progress) if p in line) for p in PHASES)

    report_text = out.stdout[out.stdout.index("bench-scale (tiny)"):]
    for label in FIGURES:
        assert label in report_text, f"the report does not print {label!r}"
    assert "the run broke off" not in report_text

    written = tmp_path / "bench-results" / "scale-tiny.json"
    assert f"written to bench-results/{written.name}" in out.stdout
    report = json.loads(written.read_text())
    assert "error" not in report
    assert (report["nodes"], report["replicas"], report["apps"], report["services"]) == (
        20, 200, 2, 3)
    for key in WAITS:
        figure = report[key]
        assert isinstance(figure["seconds"], float) and isinstance(figure["done"], bool)
        assert figure["wanted"] > 0 and figure["reached"] >= 0
    for key in NUMBERS:
        assert isinstance(report[key], (int, float)), key
    assert report["failover"]["nodes_killed"] == 2
    assert (report["apply_seed"]["nodes"], report["apply_seed"]["wanted"]) == (11, 50)
    assert report["apply_seed"]["duplicates"] == 0
    assert report["false_down"]["of"] == 20
    for part in ("resources_idle", "resources_loaded", "resources_end"):
        assert set(report[part]) == {"server_rss", "etcd_rss", "etcd_db"}
        assert report[part]["server_rss"] > 0
    assert set(report["cpu_seconds"]) >= {"server", "etcd", "hollow_agents_alive"}
    assert len(report["load_before"]) == len(report["load_after"]) == 3
    # Nothing of the cluster is left behind: its root went away with it.
    assert not list(tmp_path.glob("dockyard-scale-*"))
