"""``python -m scheduler.bench``: placement speed and packing quality, with baselines.

Why this module exists: docs/promises.md sets two numbers for the scheduler, >= 10,000
placements/s at 5,000 nodes and 100,000 tasks, and packing within 1.05x of the lower
bound and ahead of first-fit-decreasing.  This benchmark measures both on synthetic,
reproducible workloads and runs the baselines (first-fit-decreasing and spread) in the
same process, so the comparison does not depend on the machine.

Workloads: homogeneous nodes of 16 cpus and 64 GiB; services with varied replica counts
and shapes (small, medium, large, cpu-heavy, memory-heavy); sizes are scaled per case so
that total demand is about 82% of the cluster's cpu and 76% of its memory.  Lower bound
= max over dimensions of ceil(sum of demands / node capacity).  This module is the only
one in the package that reads a clock or writes a file, and only when run as a program.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from dockyard.scheduler.explain import GIB, MIB
from dockyard.scheduler.model import Algorithm, NodeInfo, Resources, TaskRequest
from dockyard.scheduler.placement import place

NODE = Resources(cpu_millis=16_000, memory_bytes=64 * GIB)
CPU_FILL = 0.82
MEMORY_FILL = 0.76
ALGORITHMS = (Algorithm.BINPACK, Algorithm.FFD, Algorithm.SPREAD)
NOTES = (
    "binpack: tasks grouped by shape (service, demand, ports, constraints); bin-centric "
    "vector packing over numpy arrays of free capacity: nodes visited fullest first, and "
    "each is filled by choosing, in one vectorised pass over the remaining groups, the "
    "group that keeps the node's cpu/memory use in the batch's proportions and is best "
    "aligned with its free space (dot product, Panigrahy et al. 2011), booking several "
    "replicas per decision. Item-centric baselines share the grouping: ffd places groups "
    "largest first on nodes in list order, each node filled in one step; spread uses a heap "
    "keyed by (service replicas on node, least allocated), one pop/push per replica. "
    "Nomad BestFit v3 scores order the nodes. Single process, one core."
)

# (cpu millis, memory MiB, weight) before per-case scaling.
SHAPES: tuple[tuple[str, int, int, float], ...] = (
    ("small", 250, 512, 3.0),
    ("small", 500, 2048, 3.0),
    ("medium", 1000, 4096, 2.0),
    ("medium", 2000, 6144, 2.0),
    ("large", 4000, 16384, 1.0),
    ("large", 6000, 20480, 0.5),
    ("cpu-heavy", 4000, 2048, 1.5),
    ("cpu-heavy", 2000, 1024, 1.5),
    ("memory-heavy", 500, 8192, 1.5),
    ("memory-heavy", 1000, 16384, 1.0),
)
REPLICAS = (1, 2, 3, 5, 8, 10, 20, 50, 100, 200, 400)


@dataclass(frozen=True, slots=True)
class Case:
    """One cluster size and task count."""

    nodes: int
    tasks: int


@dataclass(frozen=True, slots=True)
class Result:
    """One algorithm on one case, as written to the JSON report."""

    nodes: int
    tasks: int
    algorithm: str
    placements_per_s: float
    seconds: float
    placed: int
    unplaced: int
    nodes_used: int
    lower_bound: int
    ratio: float
    notes: str


FULL = (
    Case(nodes=100, tasks=10_000),
    Case(nodes=1_000, tasks=10_000),
    Case(nodes=1_000, tasks=100_000),
    Case(nodes=5_000, tasks=100_000),
)
QUICK = (Case(nodes=100, tasks=2_000), Case(nodes=1_000, tasks=10_000))
SKIPPED = (
    "100 nodes x 100,000 tasks: at 80% fill each task would get 13 millicpus, not a "
    "realistic shape; skipped.",
    "5,000 nodes x 10,000 tasks: at 80% fill the average task would be half a node, which "
    "measures fragmentation of giant tasks rather than scheduling; skipped.",
)


def make_nodes(count: int) -> list[NodeInfo]:
    """``count`` empty, ready nodes of 16 cpus and 64 GiB, labelled with three zones."""
    return [
        NodeInfo(name=f"node-{i:05d}", capacity=NODE, labels={"zone": "abc"[i % 3]})
        for i in range(count)
    ]


def make_tasks(*, case: Case, seed: int) -> list[TaskRequest]:
    """About ``case.tasks`` tasks over many services, scaled to fill the cluster ~80%."""
    rng = random.Random(seed)
    services: list[tuple[str, int, int, int]] = []
    total = 0
    while total < case.tasks:
        _, cpu, mem, _ = rng.choices(SHAPES, weights=[s[3] for s in SHAPES])[0]
        jitter = rng.uniform(0.8, 1.25)
        replicas = min(rng.choice(REPLICAS), case.tasks - total)
        services.append(
            (
                f"app{len(services) // 4}/svc{len(services)}",
                int(cpu * jitter),
                int(mem * jitter),
                replicas,
            )
        )
        total += replicas
    sum_cpu = sum(cpu * n for _, cpu, _, n in services)
    sum_mem = sum(mem * n for _, _, mem, n in services)
    cpu_scale = CPU_FILL * case.nodes * NODE.cpu_millis / sum_cpu
    mem_scale = MEMORY_FILL * case.nodes * NODE.memory_bytes / (sum_mem * MIB)
    tasks: list[TaskRequest] = []
    for name, cpu, mem, replicas in services:
        demand = Resources(
            cpu_millis=max(10, min(NODE.cpu_millis, round(cpu * cpu_scale / 10) * 10)),
            memory_bytes=max(MIB, min(NODE.memory_bytes, round(mem * mem_scale) * MIB)),
        )
        tasks.extend(
            TaskRequest(task_id=f"{name}/{i}", service=name, demand=demand) for i in range(replicas)
        )
    return tasks


def lower_bound(tasks: Sequence[TaskRequest]) -> int:
    """max over dimensions of ceil(sum of demands / node capacity)."""
    cpu = sum(t.demand.cpu_millis for t in tasks)
    mem = sum(t.demand.memory_bytes for t in tasks)
    return max(math.ceil(cpu / NODE.cpu_millis), math.ceil(mem / NODE.memory_bytes))


def run_case(*, case: Case, seed: int) -> list[Result]:
    """Every algorithm on one case, on identical inputs."""
    nodes = make_nodes(case.nodes)
    tasks = make_tasks(case=case, seed=seed)
    bound = lower_bound(tasks)
    results = []
    for algorithm in ALGORITHMS:
        started = time.perf_counter()
        plan = place(nodes=nodes, tasks=tasks, seed=seed, algorithm=algorithm)
        seconds = time.perf_counter() - started
        used = len({p.node for p in plan.placements})
        placed = len(plan.placements)
        results.append(
            Result(
                nodes=case.nodes,
                tasks=len(tasks),
                algorithm=algorithm.value,
                placements_per_s=round(placed / seconds, 1),
                seconds=round(seconds, 4),
                placed=placed,
                unplaced=len(plan.unplaced),
                nodes_used=used,
                lower_bound=bound,
                ratio=round(used / bound, 4),
                notes=NOTES,
            )
        )
    return results


def _print(results: Sequence[Result]) -> None:
    by_algo = {r.algorithm: r for r in results}
    first = results[0]
    print(f"\n{first.nodes} nodes x {first.tasks} tasks (lower bound {first.lower_bound} nodes)")
    header = ("algorithm", "placements/s", "nodes_used", "ratio", "unplaced")
    print("  {:<9} {:>13} {:>10} {:>7} {:>8}".format(*header))
    for r in results:
        print(
            f"  {r.algorithm:<9} {r.placements_per_s:>13,.0f} {r.nodes_used:>10} "
            f"{r.ratio:>7.3f} {r.unplaced:>8}"
        )
    binpack = by_algo["binpack"].placements_per_s
    speed = ", ".join(
        f"{binpack / r.placements_per_s:.2f}x {name}"
        for name, r in by_algo.items()
        if name != "binpack"
    )
    print(f"  binpack speed vs baselines: {speed}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print a table per case and write the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m scheduler.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small subset, for CI smoke")
    parser.add_argument("--out", default="bench-results/scheduler.json", help="JSON report")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    cases = QUICK if args.quick else FULL
    results: list[Result] = []
    for case in cases:
        batch = run_case(case=case, seed=args.seed)
        _print(batch)
        results.extend(batch)
    if not args.quick:
        for line in SKIPPED:
            print(f"note: {line}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "scheduler",
        "quick": args.quick,
        "seed": args.seed,
        "node_shape": {"cpu_millis": NODE.cpu_millis, "memory_bytes": NODE.memory_bytes},
        "fill": {"cpu": CPU_FILL, "memory": MEMORY_FILL},
        "skipped": [] if args.quick else list(SKIPPED),
        "notes": NOTES,
        "cases": [asdict(r) for r in results],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
