"""`make bench-reads`: what a `dockyard get` costs at 10,000 tasks, against what any CLI
call costs, on one hollow cluster.

`make bench-scale` times `get tasks -o json` three times at the end of a ten-minute
run; this takes the same reads alone, many times, so a change to the CLI or to the
server's reads can be measured in a few minutes: a real server and
`BENCH_READS_NODES` hollow nodes (default 20) running `BENCH_READS_REPLICAS` replicas
(default 10,000), applied as `make bench-scale` applies them. Then, round by round in
the same order, the CLI as a process (what a user times): bare `python -c pass`,
`dockyard --version`, `get apps -o json` (the baseline: what any call to the server
costs), `get tasks -o json`, `get tasks` (the table, as into a pipe) and the ListTasks call
alone from a client already connected (the server's share). It prints each one's median
and best wall time, its CPU time, and the ratio of medians to `get apps`, with the
load average before and after: the machine is shared, and the ratio is the figure to
compare between runs. `BENCH_READS_RUNS` rounds (default 9). Results:
`bench-results/reads.json`.

The dockyard modules' bytecode is written first (`compile_sources`), as installing the
package writes it, so that an environment that forbids writing bytecode
(PYTHONDONTWRITEBYTECODE) does not time the compiling of every module on every call.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dockyard.deploy.bench.cli import (
    cli_env,
    compile_sources,
    dockyard_argv,
    print_figures,
    time_rounds,
)
from dockyard.deploy.bench.cluster import write_report
from dockyard.deploy.bench.scale import apply, replicas_app
from dockyard.deploy.bench.scale_cluster import up
from dockyard.deploy.bench.scale_probe import Observer, poll
from dockyard.v1 import control_pb2

TARGET_S = 0.5  # get tasks -o json at 10,000 tasks (issue 12)


def knob(name: str, default: int) -> int:
    raw = os.environ.get(f"BENCH_READS_{name}", "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"BENCH_READS_{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"BENCH_READS_{name} must be positive, not {raw!r}")
    return value


def rpc_time(obs: Observer) -> tuple[float, float]:
    """(wall, CPU of this process) of one ListTasks call on a connected client, asked as
    `get tasks -o json` asks it (its JSON rows)."""
    t0, c0 = time.perf_counter(), time.process_time()
    obs.stub.ListTasks(control_pb2.ListRequest(brief=True, json_rows=True), timeout=60)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    nodes, replicas, runs = knob("NODES", 20), knob("REPLICAS", 10_000), knob("RUNS", 9)
    compile_sources()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-reads-"))
    load_before = os.getloadavg()[0]
    cluster = up(nodes, root=work / "cluster")
    try:
        obs = Observer(cluster)
        t0 = time.monotonic()
        apply(obs, replicas_app("scale", replicas))
        w = poll(lambda: obs.running_replicas("scale"), replicas, timeout_s=600, every_s=0.5)
        print(f"{w.last}/{replicas} replicas running on {nodes} hollow nodes after "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        env = cli_env(cluster, work / "user")
        cli = dockyard_argv()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "dockyard --version": [*cli, "--version"],
            "get apps -o json": [*cli, "get", "apps", "-o", "json"],
            "get tasks -o json": [*cli, "get", "tasks", "-o", "json"],
            "get tasks": [*cli, "get", "tasks"],
        }
        walls, cpus = time_rounds(commands, env, runs)
        walls["ListTasks alone"], cpus["ListTasks alone"] = [], []
        for _ in range(runs):
            wall, cpu = rpc_time(obs)
            walls["ListTasks alone"].append(wall)
            cpus["ListTasks alone"].append(cpu)
        listed = len(obs.tasks())
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]

    report: dict[str, object] = {"runs": runs, "nodes": nodes, "replicas": replicas,
                                 "tasks_listed": listed, "target_s": TARGET_S,
                                 "load_before": load_before, "load_after": load_after}
    print(f"reads at {listed} tasks, {runs} rounds; load average {load_before:.1f} before, "
          f"{load_after:.1f} after")
    report.update(print_figures(walls, cpus, "get apps -o json", "x get apps"))
    got = statistics.median(walls["get tasks -o json"])
    verdict = "met" if got <= TARGET_S else "not met (a busy machine? compare the ratio)"
    print(f"target: get tasks -o json at 10,000 tasks in {TARGET_S:g} s or less: {verdict}")
    print(f"wrote {write_report('reads', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
