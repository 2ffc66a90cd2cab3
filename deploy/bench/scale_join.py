"""The join phase of `make bench-scale` alone, at a chosen size: `make bench-scale-join`.

The full benchmark takes ten minutes at 1,000 nodes; the join is its first phase and
the one that decides whether the rest can run. This runs only that phase, the same way
(a real server and etcd, hollow agents in processes of a tenth of the nodes each), and
then keeps the cluster idle for a while, because what breaks after a mass join is the
heartbeats of nodes that have just joined:

- baseline: one node joining alone;
- join: N-1 nodes started at once, until all N are ready;
- settle: S seconds after that, with every node expected to stay alive;
- false node-down: nodes seen down by a sampler (every 0.5 s), and nodes the server
  itself declared down (its log), over the join and the settle;
- agent trouble: failed heartbeats and ended sessions (the hollow processes' logs),
  agent exits;
- CPU seconds of the server, etcd and the agents, and the load average before and after.

BENCH_SCALE_NODES=N (default 300), BENCH_SCALE_TIMEOUT=S (the join's bound, default
120), BENCH_SCALE_SETTLE=S (default 20), BENCH_SCALE_PROFILE=1 (py-spy on the server
during the join). Results: bench-results/scale-join.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dockyard.deploy.bench.cluster import RESULTS, write_report
from dockyard.deploy.bench.scale import figure, keep_logs
from dockyard.deploy.bench.scale_cluster import HollowCluster, up
from dockyard.deploy.bench.scale_probe import (
    DownWatch,
    Observer,
    Profile,
    Waited,
    agent_exits,
    cpu_by_part,
    poll,
)

# What the logs say when liveness goes wrong (server log; hollow processes' logs).
DECLARED_DOWN = "no longer alive"
AGENT_TROUBLE = {"heartbeats_failed": "heartbeat failed",
                 "sessions_ended": "session with"}


def count_in_logs(logs: list[Path], text: str) -> int:
    """How many lines of these files hold `text` (a missing file counts 0)."""
    n = 0
    for path in logs:
        try:
            n += sum(1 for line in path.read_text(errors="replace").splitlines()
                     if text in line)
        except OSError:
            continue
    return n


def env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"error: {name} must be a number, not {raw!r}") from None


def run(nodes: int, timeout_s: float, settle_s: float, *, profile: bool,
        report: dict[str, Any]) -> None:
    root = Path(tempfile.mkdtemp(prefix="dockyard-scale-join-"))
    cluster: HollowCluster = up(0, root=root)
    obs = Observer(cluster)
    watch = DownWatch(obs)
    report.update({"nodes": nodes, "load_before": os.getloadavg()})
    prof: Profile | None = None
    try:
        t0 = time.monotonic()
        first = cluster.add_nodes(1, prefix="base-")
        w = poll(lambda: obs.ready_nodes(set(first[0].names())), 1, timeout_s=60)
        report["join_1"] = figure(Waited(w.ok, time.monotonic() - t0, w.last), 1)
        watch.start()
        if profile and cluster.server is not None:
            prof = Profile(cluster.server.pid, root / "profile.txt")
        t0 = time.monotonic()
        cluster.add_nodes(nodes - 1, prefix="hollow-", per_process=max(1, nodes // 10))
        w = poll(lambda: obs.ready_nodes(), nodes, timeout_s=timeout_s, every_s=0.2)
        report["join_n"] = figure(Waited(w.ok, time.monotonic() - t0, w.last), nodes - 1)
        if prof is not None:
            report["profile_top"] = [(f, round(s, 3)) for f, s in prof.finish()]
            RESULTS.mkdir(exist_ok=True)
            prof.keep(RESULTS / "scale-join-profile.txt")
        time.sleep(settle_s)
        report["ready_after_settle"] = obs.ready_nodes()
    finally:
        watch.stop()
        report["settle_s"] = settle_s
        report["false_down"] = {"nodes": len(watch.false_down), "sightings": watch.sightings,
                                "samples": watch.samples}
        report["declared_down"] = count_in_logs([root / "server.log"], DECLARED_DOWN)
        hollow_logs = sorted(root.glob("hollow-*.log"))
        for key, text in AGENT_TROUBLE.items():
            report[key] = count_in_logs(hollow_logs, text)
        report["agent_exits"] = agent_exits(cluster)
        report["cpu_seconds"] = cpu_by_part(cluster)
        report["load_after"] = os.getloadavg()
        keep_logs(cluster)
        cluster.down()


def print_report(r: dict[str, Any]) -> None:
    print(f"\nbench-scale-join: {r['nodes']} hollow nodes, load before "
          f"{r['load_before'][0]:.1f}, after {r.get('load_after', [0.0])[0]:.1f} "
          "(1-minute load average, 2-core machine)")
    j1, jn = r.get("join_1"), r.get("join_n")
    if j1:
        print(f"  1 node alone (baseline)            {j1['seconds']:.2f}s")
    if jn:
        took = (f"{jn['seconds']:.2f}s" if jn["done"] else
                f"NOT DONE in {jn['seconds']:.1f}s ({jn['reached']}/{r['nodes']} ready)")
        print(f"  {jn['wanted']} nodes joining at once       {took}")
    if "ready_after_settle" in r:
        print(f"  ready after {r['settle_s']:g}s idle              "
              f"{r['ready_after_settle']} of {r['nodes']}")
    fd = r["false_down"]
    print(f"  live nodes seen down (sampler)     {fd['nodes']} "
          f"({fd['sightings']} sightings in {fd['samples']} samples)")
    print(f"  nodes declared down (server log)   {r['declared_down']}")
    print(f"  failed heartbeats / ended sessions {r['heartbeats_failed']} / "
          f"{r['sessions_ended']}; agent exits {r['agent_exits']}")
    print("  CPU seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_seconds"].items()))
    if "error" in r:
        print(f"  the run broke off: {r['error']}")
    for frame, share in r.get("profile_top", []):
        print(f"    {share:6.1%}  {frame}")


def main() -> int:
    nodes = int(env_number("BENCH_SCALE_NODES", 300))
    if nodes < 2:
        print("error: BENCH_SCALE_NODES must be at least 2", file=sys.stderr)
        return 1
    report: dict[str, Any] = {}
    try:
        run(nodes, env_number("BENCH_SCALE_TIMEOUT", 120), env_number("BENCH_SCALE_SETTLE", 20),
            profile=os.environ.get("BENCH_SCALE_PROFILE", "") == "1", report=report)
    except Exception as exc:  # a phase broke: keep and print what was measured
        report["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if "nodes" not in report:
        print(f"bench-scale-join did not start: {report.get('error')}")
        return 1
    print_report(report)
    print(f"\nwritten to {write_report('scale-join', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
