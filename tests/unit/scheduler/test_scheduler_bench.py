"""The benchmark's workload stays within its promises; --quick runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.scheduler.bench import NODE, Case, lower_bound, main, make_nodes, make_tasks


def test_workload_fills_the_cluster_without_overflowing_it() -> None:
    case = Case(nodes=50, tasks=2_000)
    tasks = make_tasks(case=case, seed=3)
    assert len(tasks) == case.tasks
    cpu = sum(t.demand.cpu_millis for t in tasks) / (case.nodes * NODE.cpu_millis)
    mem = sum(t.demand.memory_bytes for t in tasks) / (case.nodes * NODE.memory_bytes)
    assert 0.7 <= max(cpu, mem) <= 0.9
    assert len({t.service for t in tasks}) > 10
    assert len({t.demand for t in tasks}) > 10
    assert make_tasks(case=case, seed=3) == tasks
    assert lower_bound(tasks) <= case.nodes
    assert len(make_nodes(7)) == 7


def test_quick_run_writes_a_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    cases = report["cases"]
    assert {c["algorithm"] for c in cases} == {"binpack", "ffd", "spread"}
    fields = ("nodes", "tasks", "algorithm", "placements_per_s", "nodes_used", "lower_bound")
    for case in cases:
        assert all(field in case for field in (*fields, "notes"))
    binpack = [c for c in cases if c["algorithm"] == "binpack"]
    # The baselines may strand capacity and leave tasks pending; binpack must not.
    assert all(c["unplaced"] == 0 for c in binpack)
    ffd = [c for c in cases if c["algorithm"] == "ffd"]
    for ours, base in zip(binpack, ffd, strict=True):
        assert ours["nodes_used"] <= base["nodes_used"]
        assert ours["nodes_used"] <= 1.05 * ours["lower_bound"] + 1
