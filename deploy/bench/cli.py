"""`make bench-cli`: how long a CLI call takes, against bare Python start-up.

A CLI call should take about 0.3 s on a quiet machine, and most of what it costs is the
interpreter starting and importing modules. This starts a real `dockyard server` with its
embedded etcd on free loopback ports (as the integration tests do), then times, round by
round in the same order, bare `python -c pass` (the baseline), `dockyard --version` and
`dockyard get nodes -o json` (one call to the server over mutual TLS; a second, ListTasks,
only against a server that does not add up the nodes' reservations). It prints each one's
median and best wall time, its CPU time, and the ratio of medians to the baseline, then
the largest imports of a `get` as `python -X importtime` reports them.
No Docker, no testbed: it runs anywhere the integration tests do.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockyard.deploy.bench import scale_cluster
from dockyard.deploy.bench.cluster import summary, write_report

TARGET_S = 0.3


def dockyard_argv() -> list[str]:
    """The installed `dockyard` script beside this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "dockyard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dockyard.cli"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=60)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def top_imports(argv: list[str], env: dict[str, str], n: int = 8) -> list[tuple[str, int]]:
    """The `n` largest top-level imports (cumulative microseconds) of `python ARGV...`."""
    out = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            depth = (len(name) - len(name.lstrip())) // 2
            if depth <= 1:
                rows.append((name.strip(), int(parts[1])))
    return sorted(rows, key=lambda r: -r[1])[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-cli-"))
    server = scale_cluster.up(0, root=work / "cluster")  # a real server, no nodes
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        env.update(HOME=str(work / "user"), DOCKYARD_SERVER=server.address,
                   DOCKYARD_CREDENTIALS=str(server.credentials))
        cli = dockyard_argv()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "dockyard --version": [*cli, "--version"],
            "dockyard get nodes -o json": [*cli, "get", "nodes", "-o", "json"],
        }
        for argv in commands.values():  # warm the page cache and .pyc files; not counted
            timed(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        imports = top_imports(["-m", "dockyard.cli", "get", "nodes", "-o", "json"], env)
    finally:
        server.down()
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(walls["python -c pass"])
    report: dict[str, object] = {"runs": args.runs, "target_s": TARGET_S}
    print(f"CLI start-up, {args.runs} runs each, one server on loopback")
    print(f"{'command':<28} {'median':>8} {'best':>8} {'cpu':>8} {'x python':>9}")
    for name in commands:
        med = statistics.median(walls[name])
        print(f"{name:<28} {med:7.3f}s {min(walls[name]):7.3f}s "
              f"{statistics.median(cpus[name]):7.3f}s {med / base:8.1f}x")
        report[name] = {"wall": summary(walls[name]), "cpu": summary(cpus[name]),
                        "ratio_to_python": med / base}
    get = statistics.median(walls["dockyard get nodes -o json"])
    verdict = "met" if get <= TARGET_S else "not met (a busy machine? compare the ratio)"
    print(f"target: get nodes in {TARGET_S:g} s or less: {verdict}")
    print("largest imports of `get nodes -o json` (python -X importtime, cumulative):")
    for name, us in imports:
        print(f"  {us / 1000:7.1f} ms  {name}")
    report["imports_ms"] = {name: us / 1000 for name, us in imports}
    print(f"wrote {write_report('cli', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
