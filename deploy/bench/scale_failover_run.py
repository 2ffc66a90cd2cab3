"""Where the time of one failover goes: `make bench-scale-failover`.

`make bench-scale` times a failover (SIGKILL of the hollow process holding a tenth of
the nodes, until every replica runs on a live node) and splits it in two from the
server's log; this splits it further. It brings up N hollow nodes in processes of a
tenth of N (in waves, so the join is not what is measured), applies one service of R
replicas (the bench's spread app) and waits until all run, then kills one process and
watches etcd beside the server, stamping each write as it is seen after the kill:

- declared: the killed nodes' liveness keys deleted (the failure detector);
- marked down: the nodes written NODE_DOWN (the leader's round);
- taken: the lost tasks deleted or updated (the round's first writes);
- created: their replacements (the round's second writes);
- running: the replacements' RUNNING statuses (the agents);

and polls the control API as `make bench-scale` does until R replicas run on live
nodes. It prints each phase's first, median and last stamp (seconds after the kill),
the etcd transactions of each kind, the leader's rounds in that time (from the
server's /metrics), CPU seconds, and the load before and after.
BENCH_SCALE_NODES (default 300), BENCH_SCALE_REPLICAS (10 a node), BENCH_SCALE_TIMEOUT
(60 s a phase), BENCH_SCALE_RUNS (kills, one process each; default 1);
BENCH_SCALE_PROFILE=1 samples the server with py-spy from the kill to the end
(bench-results/scale-failover-profile-N.txt). BENCH_SCALE_POLL_S (default 0.5, as
`make bench-scale`) is the rest between two polls of the failover: each poll lists every
task (brief), so a shorter rest sees the end sooner and costs the server more in the
very failover it times.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.deploy.bench.scale import apply, replicas_app
from dockyard.deploy.bench.scale_apply import quantiles, spy, stop_spy, watch_writes
from dockyard.deploy.bench.scale_cluster import HollowCluster, up
from dockyard.deploy.bench.scale_failover import detection, read_declared
from dockyard.deploy.bench.scale_probe import Observer, cpu_by_part, poll
from dockyard.v1 import objects_pb2

RESULTS = Path("bench-results")
APP = "scale"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Stamps:
    """Monotonic times of the writes seen after `since`, by kind, and their revisions."""

    since: float = float("inf")
    times: dict[str, list[float]] = field(default_factory=dict)
    revisions: dict[str, set[int]] = field(default_factory=dict)
    new_tasks: dict[str, float] = field(default_factory=dict)  # replacement -> created
    # Replacement -> when its container started (the hollow runtime's clock, this
    # machine's monotonic) and when its RUNNING status was seen.
    started: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[tuple[float, int, str]] = field(default_factory=list)  # (time, revision, kind)

    def saw(self, kind: str, at: float, revision: int) -> None:
        with self.lock:
            self.times.setdefault(kind, []).append(at)
            self.revisions.setdefault(kind, set()).add(revision)
            self.seen.append((at, revision, kind))


def timeline(seen: list[tuple[float, int, str]], t0: float, step_s: float = 0.1) -> list[str]:
    """The writes seen after `t0`, counted by kind in steps of `step_s` seconds (only the
    steps with writes), as "3.4 s: declared 5, taken 20 (3 txns)". Pure."""
    steps: dict[int, dict[str, int]] = {}
    txns: dict[int, set[int]] = {}
    for at, revision, kind in seen:
        i = int((at - t0) / step_s)
        steps.setdefault(i, {})
        steps[i][kind] = steps[i].get(kind, 0) + 1
        txns.setdefault(i, set()).add(revision)
    return [f"{i * step_s:.1f} s: " + ", ".join(f"{k} {n}" for k, n in sorted(steps[i].items()))
            + f" ({len(txns[i])} txns)" for i in sorted(steps)]


_ROUND = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*leader: (round \d+.*)$")


def round_lines(log: Path, killed_at: float) -> list[str]:
    """The leader's lines about rounds that marked nodes down, with the seconds after the
    kill at which each was logged (once planned, before its commits)."""
    out: list[str] = []
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = _ROUND.match(line)
        if m is None:
            continue
        at = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if at >= killed_at - 0.5:
            out.append(f"{at - killed_at:.2f} s: {m.group(2)}")
    return out


def stamp(stamps: Stamps, key: str, value: bytes | None, revision: int, now: float) -> None:
    """Sort one write seen after the kill into its kind. Pure but for `stamps`."""
    if now < stamps.since:
        return
    if key.startswith(keys.ALIVE) and value is None:
        stamps.saw("declared", now, revision)
    elif key.startswith(keys.NODES) and value is not None:
        if decode(objects_pb2.Node, value).state == objects_pb2.NODE_DOWN:
            stamps.saw("marked down", now, revision)
    elif key.startswith(keys.tasks_prefix(APP)):
        tid = key.rsplit("/", 1)[1]
        if value is None:
            stamps.saw("taken", now, revision)
        elif tid not in stamps.new_tasks and decode(
                objects_pb2.Task, value).desired_state == objects_pb2.DESIRED_RUNNING:
            stamps.new_tasks[tid] = now
            stamps.saw("created", now, revision)
        else:
            stamps.saw("task update", now, revision)
    elif key.startswith(keys.status_prefix(APP)) and value is not None:
        tid = key.rsplit("/", 1)[1]
        status = decode(objects_pb2.TaskStatus, value)
        if tid in stamps.new_tasks and status.state == objects_pb2.RUNNING:
            stamps.saw("running", now, revision)
            stamps.started.setdefault(tid, (status.started_ms / 1000, now))
        elif tid in stamps.new_tasks:
            stamps.saw("status other", now, revision)
    elif key.startswith(keys.EVENTS):
        stamps.saw("event", now, revision)


def spread(times: list[float], t0: float) -> list[float]:
    """First, median and last of `times`, in seconds after `t0`. Pure."""
    v = sorted(t - t0 for t in times)
    return [round(v[0], 2), round(v[len(v) // 2], 2), round(v[-1], 2)] if v else []


_METRIC = re.compile(r"^dockyard_reconcile_round_seconds_(count|sum) ([0-9.e+-]+)$", re.M)


def rounds(cluster: HollowCluster) -> tuple[float, float]:
    """(rounds planned, seconds spent planning) so far, from the server's /metrics."""
    try:
        url = f"http://127.0.0.1:{cluster.http_port}/metrics"
        with _NO_PROXY.open(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0.0, 0.0
    found = {m.group(1): float(m.group(2)) for m in _METRIC.finditer(text)}
    return found.get("count", 0.0), found.get("sum", 0.0)


def one_failover(cluster: HollowCluster, obs: Observer, victim_index: int, replicas: int,
                 timeout_s: float, *, profile: bool, run: int, killed: set[str],
                 poll_s: float = 0.5) -> dict[str, Any]:
    """Kill one hollow process and time the failover; `killed` (the nodes killed by
    earlier runs) grows by this one's."""
    victim = cluster.groups[victim_index]
    dead = set(victim.names())
    killed |= dead
    stamps = Stamps()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_writes, args=(cluster, lambda key, value, revision,
                               now: stamp(stamps, key, value, revision, now), stop), daemon=True)
    watcher.start()
    time.sleep(1.0)
    out: dict[str, Any] = {"load_before": os.getloadavg(), "nodes_killed": len(dead),
                           "poll_s": poll_s}
    cpu0, rounds0 = cpu_by_part(cluster), rounds(cluster)
    prof = spy(cluster.server.pid, cluster.root / f"profile-{run}.txt") if (
        profile and cluster.server) else None
    t0, killed_at = time.monotonic(), time.time()
    stamps.since = t0
    cluster.stop_group(victim, kill=True)
    w = poll(lambda: obs.running_on(APP, avoid=killed), replicas, timeout_s=timeout_s,
             every_s=poll_s)
    out["failover_s"] = round(time.monotonic() - t0, 2)
    out["done"] = w.ok
    time.sleep(0.5)
    stop.set()
    watcher.join(timeout=10)
    rounds1, cpu1 = rounds(cluster), cpu_by_part(cluster)
    out["phases (first, median, last s after the kill)"] = {
        kind: spread(stamps.times.get(kind, []), t0)
        for kind in ("declared", "marked down", "taken", "created", "running")}
    out["writes"] = {k: len(v) for k, v in stamps.times.items()}
    out["transactions"] = {k: len(v) for k, v in stamps.revisions.items()}
    out["leader rounds / seconds planning"] = [int(rounds1[0] - rounds0[0]),
                                               round(rounds1[1] - rounds0[1], 2)]
    out["detection"] = detection(read_declared(cluster.root / "server.log"),
                                 killed_at=killed_at, dead=killed)
    out["cpu_seconds"] = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1) for k in cpu1}
    out["load_after"] = os.getloadavg()
    lag = [t - min(stamps.times.get("declared", [t0])) for t in stamps.times.get("running", [])]
    out["first declared to running p50/p90/max"] = quantiles(lag)
    # Where a replacement's way went: to its agent (sessions), then to etcd (statuses).
    out["created to container start p50/p90/max"] = quantiles(
        [start - stamps.new_tasks[t] for t, (start, _) in stamps.started.items()])
    out["container start to status in etcd p50/p90/max"] = quantiles(
        [seen - start for start, seen in stamps.started.values()])
    out["timeline"] = timeline(stamps.seen, t0)
    out["rounds"] = round_lines(cluster.root / "server.log", killed_at)
    if prof is not None:
        top = stop_spy(prof, cluster.root / f"profile-{run}.txt", f"failover-{run}")
        out["profile_top"] = top[:20]
    return out


def main() -> int:
    nodes = int(os.environ.get("BENCH_SCALE_NODES", "300"))
    replicas = int(os.environ.get("BENCH_SCALE_REPLICAS", str(10 * nodes)))
    timeout_s = float(os.environ.get("BENCH_SCALE_TIMEOUT", "60"))
    runs = int(os.environ.get("BENCH_SCALE_RUNS", "1"))
    profile = os.environ.get("BENCH_SCALE_PROFILE", "") == "1"
    poll_s = float(os.environ.get("BENCH_SCALE_POLL_S", "0.5"))
    per_process = max(1, nodes // 10)
    if nodes < 20 or runs < 1 or runs > 5 or not 0.05 <= poll_s <= 5:
        print("BENCH_SCALE_NODES must be at least 20, BENCH_SCALE_RUNS 1 to 5 and "
              "BENCH_SCALE_POLL_S 0.05 to 5", flush=True)
        return 2
    root = Path(tempfile.mkdtemp(prefix="dockyard-scale-failover-"))
    cluster = up(0, root=root)
    obs = Observer(cluster)
    report: dict[str, Any] = {"nodes": nodes, "replicas": replicas, "runs": []}
    try:
        for done in range(0, nodes, per_process):
            cluster.add_nodes(min(per_process, nodes - done), per_process=per_process)
            w = poll(lambda: obs.ready_nodes(), min(nodes, done + per_process),
                     timeout_s=60, every_s=0.2)
            if not w.ok:
                print(f"join: only {w.last} nodes ready", flush=True)
                return 1
        print(f"{nodes} nodes ready", flush=True)
        apply(obs, replicas_app(APP, replicas))
        w = poll(lambda: obs.running_replicas(APP), replicas, timeout_s=timeout_s,
                 every_s=0.25)
        print(f"{w.last}/{replicas} replicas running in {w.seconds:.1f} s", flush=True)
        time.sleep(5)  # past the apply's rounds and statuses, and one full round
        killed: set[str] = set()
        for run in range(runs):
            result = one_failover(cluster, obs, run, replicas, timeout_s,
                                  profile=profile, run=run, killed=killed, poll_s=poll_s)
            report["runs"].append(result)
            print(json.dumps(result), flush=True)
            time.sleep(6)  # the next kill finds a cluster at rest
    finally:
        RESULTS.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copy(root / "server.log", RESULTS / "scale-failover-server.log")
        cluster.down()
    (RESULTS / "scale-failover.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
