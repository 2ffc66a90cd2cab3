"""What an idle cluster costs: server, etcd and hollow agents' CPU at N hollow nodes.

With no app deployed, what the server does is keep its nodes alive: heartbeats, the
session streams, the liveness lease. This brings up a hollow cluster of N nodes
(deploy/bench/scale_cluster.py, as `dockyard dev-cluster up --hollow N` does), waits
until every node is ready, lets it settle, then reads the CPU time of the server and of
its embedded etcd from /proc over a window, and prints one JSON object. The cluster is
taken down at the end (`DOCKYARD_HOLLOW_DIR` picks where it lives).

    python -m dockyard.deploy.bench.idle_cpu --nodes 1000 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dockyard.deploy.bench import scale_cluster


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def ready_nodes(cluster: scale_cluster.HollowCluster) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "get", "nodes", "-o", "json",
         "--server", cluster.address, "--credentials", str(cluster.credentials)],
        capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return -1
    return sum(1 for n in json.loads(out.stdout) if n["state"] == "ready")


def measure(nodes: int, seconds: float, settle_s: float, join_timeout_s: float) -> dict[str, Any]:
    cluster = scale_cluster.up(nodes)
    try:
        assert cluster.server is not None
        server = cluster.server.pid
        started = time.monotonic()
        ready = 0
        while time.monotonic() - started < join_timeout_s:  # bounded by join_timeout_s
            ready = ready_nodes(cluster)
            if ready >= nodes:
                break
            time.sleep(2.0)
        joined_s = time.monotonic() - started
        time.sleep(settle_s)
        etcd = child_pids(server)
        agents = [g.proc.pid for g in cluster.groups]
        load_before = os.getloadavg()[0]
        t0 = time.monotonic()
        s0 = cpu_seconds(server)
        e0 = sum(cpu_seconds(p) for p in etcd)
        a0 = sum(cpu_seconds(p) for p in agents)
        time.sleep(seconds)
        s1 = cpu_seconds(server)
        e1 = sum(cpu_seconds(p) for p in etcd)
        a1 = sum(cpu_seconds(p) for p in agents)
        wall = time.monotonic() - t0
        ready_after = ready_nodes(cluster)
        return {
            "nodes": nodes, "ready_before": ready, "ready_after": ready_after,
            "join_s": round(joined_s, 1), "window_s": round(wall, 1),
            "server_cpu_percent": round(100 * (s1 - s0) / wall, 1),
            "etcd_cpu_percent": round(100 * (e1 - e0) / wall, 1),
            "agents_cpu_percent": round(100 * (a1 - a0) / wall, 1),
            "load_before": round(load_before, 1), "load_after": round(os.getloadavg()[0], 1),
        }
    finally:
        cluster.down()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dockyard.deploy.bench.idle_cpu",
                                description="server and etcd CPU of an idle hollow cluster")
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--seconds", type=float, default=30.0, help="the sampling window")
    p.add_argument("--settle", type=float, default=10.0,
                   help="seconds to wait after all nodes are ready")
    p.add_argument("--join-timeout", type=float, default=600.0)
    args = p.parse_args(argv)
    try:
        print(json.dumps(measure(args.nodes, args.seconds, args.settle, args.join_timeout)))
    except scale_cluster.HollowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
