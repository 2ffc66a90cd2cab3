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


def compile_sources() -> None:
    """Write the bytecode of every dockyard module, as installing the package does.

    An editable checkout writes it on the first run, unless the environment forbids it
    (PYTHONDONTWRITEBYTECODE): then every CLI call compiles each module it imports
    again, a cost no installed CLI has, and the benchmarks would time it."""
    import compileall
    import importlib.util

    for name in ("dockyard", "dockyard.cli", "dockyard.client", "dockyard.common",
                 "dockyard.controlplane", "dockyard.agent", "dockyard.deploy",
                 "dockyard.scheduler"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


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


def cli_env(cluster: scale_cluster.HollowCluster, home: Path) -> dict[str, str]:
    """This environment, with the CLI pointed at `cluster` and a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(HOME=str(home), DOCKYARD_SERVER=cluster.address,
               DOCKYARD_CREDENTIALS=str(cluster.credentials))
    return env


def time_rounds(commands: dict[str, list[str]], env: dict[str, str], runs: int
                ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(wall seconds, CPU seconds) of each command, `runs` rounds in the same order, after
    one run of each that is not counted (it warms the page cache)."""
    for argv in commands.values():
        timed(argv, env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu = timed(argv, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return walls, cpus


def print_figures(walls: dict[str, list[float]], cpus: dict[str, list[float]], base: str,
                  ratio: str) -> dict[str, object]:
    """Print each command's median and best wall time, its median CPU time and the ratio
    of its median to `base`'s; the same figures for the report."""
    base_s = statistics.median(walls[base])
    width = max(len(name) for name in walls) + 2
    print(f"{'command':<{width}} {'median':>8} {'best':>8} {'cpu':>8} {ratio:>10}")
    out: dict[str, object] = {}
    for name in walls:
        med = statistics.median(walls[name])
        print(f"{name:<{width}} {med:7.3f}s {min(walls[name]):7.3f}s "
              f"{statistics.median(cpus[name]):7.3f}s {med / base_s:9.2f}x")
        out[name] = {"wall": summary(walls[name]), "cpu": summary(cpus[name]),
                     f"ratio_to_{base.replace(' ', '_')}": med / base_s}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-cli-"))
    server = scale_cluster.up(0, root=work / "cluster")  # a real server, no nodes
    try:
        env = cli_env(server, work / "user")
        cli = dockyard_argv()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "dockyard --version": [*cli, "--version"],
            "dockyard get nodes -o json": [*cli, "get", "nodes", "-o", "json"],
        }
        compile_sources()
        walls, cpus = time_rounds(commands, env, args.runs)
        imports = top_imports(["-m", "dockyard.cli", "get", "nodes", "-o", "json"], env)
    finally:
        server.down()
        shutil.rmtree(work, ignore_errors=True)

    report: dict[str, object] = {"runs": args.runs, "target_s": TARGET_S}
    print(f"CLI start-up, {args.runs} runs each, one server on loopback")
    report.update(print_figures(walls, cpus, "python -c pass", "x python"))
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
