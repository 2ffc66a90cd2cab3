"""Where the time of one big apply goes: `make bench-scale-apply`.

`make bench-scale` says how long R replicas on N hollow nodes take to all run; this
says which part of the way took it. It brings up N hollow nodes (in waves of 100, so the
join is not what is measured), applies one service of R replicas (the bench's spread
app), and watches etcd itself, beside the server, stamping each write as it is seen:

- created: the task keys the leader's rounds commit;
- placed: tasks with a node (the same writes, or later updates);
- running: status keys written back by the agents with state RUNNING;
- counted: the service's own `running` count (what `make bench-scale` polls);

then deletes the app and times until every task and status key is gone. It prints
when each phase reached 1%, 50% and 100% of R, the etcd transactions each kind took,
CPU seconds of the server, etcd and agents, and the load before and after.
BENCH_SCALE_NODES (default 300), BENCH_SCALE_REPLICAS (10 per node), BENCH_SCALE_TIMEOUT
(120 s), BENCH_SCALE_HEARTBEAT (the period agents are told, default the server's);
BENCH_SCALE_PROFILE=1 samples the server with py-spy during the apply and the
delete (the collapsed stacks go to bench-results/scale-apply-profile.txt).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.controlplane.embedded_etcd import client_tls
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.deploy.bench.scale import apply, replicas_app
from dockyard.deploy.bench.scale_cluster import HollowCluster, up
from dockyard.deploy.bench.scale_probe import Observer, cpu_by_part, poll, top_frames
from dockyard.v1 import control_pb2, objects_pb2

RESULTS = Path("bench-results")
APP = "scale"
IDLE_S = 5.0


@dataclass
class Stamps:
    """Times (monotonic) at which the watch saw each kind of write, and the etcd
    revisions (transactions) they came in."""

    created: dict[str, float] = field(default_factory=dict)
    placed: dict[str, float] = field(default_factory=dict)
    running: dict[str, float] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)  # the agent's clock, monotonic
    counted: list[tuple[float, int]] = field(default_factory=list)
    gone_tasks: dict[str, float] = field(default_factory=dict)
    gone_status: dict[str, float] = field(default_factory=dict)
    revisions: dict[str, set[int]] = field(default_factory=dict)

    def saw(self, kind: str, revision: int) -> None:
        self.revisions.setdefault(kind, set()).add(revision)


def reached(times: list[float], t0: float, want: int, share: float) -> float | None:
    """Seconds after `t0` at which `share` of `want` had been seen, or None. Pure."""
    need = max(1, int(want * share + 0.5))
    ordered = sorted(times)
    return round(ordered[need - 1] - t0, 3) if len(ordered) >= need else None


def watch(cluster: HollowCluster, stamps: Stamps, stop: threading.Event) -> None:
    """Stamp every task, status and service write of APP until `stop` (a thread)."""
    watch_writes(cluster, lambda key, value, revision, now: _stamp(
        stamps, key, value, revision, now), stop)


def watch_writes(cluster: HollowCluster,
                 seen: Callable[[str, bytes | None, int, float], None],
                 stop: threading.Event) -> None:
    """Tell `seen` (key, value or None, revision, monotonic time) of every write under
    the root from now until `stop` (run in a thread)."""

    async def run() -> None:
        store = EtcdStore([f"https://127.0.0.1:{cluster.etcd_port}"],
                          tls=client_tls(cluster.data_dir))
        await store.connect()
        _, revision = await store.get_prefix(keys.CLUSTER)

        async def follow() -> None:
            async for ev in store.watch_prefix(keys.ROOT, start_revision=revision + 1):
                seen(ev.key, ev.value, ev.mod_revision, time.monotonic())

        task = asyncio.create_task(follow())
        while not stop.is_set() and not task.done():
            await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()

    asyncio.run(run())


def _stamp(stamps: Stamps, key: str, value: bytes | None, revision: int, now: float) -> None:
    if key.startswith(keys.tasks_prefix(APP)):
        tid = key.rsplit("/", 1)[1]
        if value is None:
            stamps.gone_tasks.setdefault(tid, now)
            stamps.saw("task delete", revision)
            return
        task = decode(objects_pb2.Task, value)
        if tid not in stamps.created:
            stamps.created[tid] = now
            stamps.saw("task create", revision)
        else:
            stamps.saw("task update", revision)
        if task.node:
            stamps.placed.setdefault(tid, now)
    elif key.startswith(keys.status_prefix(APP)):
        tid = key.rsplit("/", 1)[1]
        if value is None:
            stamps.gone_status.setdefault(tid, now)
            stamps.saw("status delete", revision)
            return
        stamps.saw("status", revision)
        status = decode(objects_pb2.TaskStatus, value)
        if status.state == objects_pb2.RUNNING and tid not in stamps.running:
            stamps.running[tid] = now
            # The hollow container's start, by the agent's clock: this machine's monotonic.
            stamps.started[tid] = status.started_ms / 1000
    elif key.startswith(keys.services_prefix(APP)) and value is not None:
        stamps.saw("service", revision)
        svc = decode(objects_pb2.Service, value)
        stamps.counted.append((now, svc.status.running))


def quantiles(values: list[float]) -> list[float]:
    """p50, p90 and max. Pure."""
    v = sorted(values)
    return [round(v[int(len(v) * q)], 3) for q in (0.5, 0.9)] + [round(v[-1], 3)] if v else []


def timeline(stamps: Stamps, t0: float, step: float = 0.5) -> list[tuple[int, int]]:
    """How many tasks were created and seen running in each `step` after `t0`. Pure."""
    bins: dict[int, list[int]] = {}
    for i, times in enumerate((stamps.created.values(), stamps.running.values())):
        for t in times:
            bins.setdefault(int((t - t0) / step), [0, 0])[i] += 1
    return [(bins.get(b, [0, 0])[0], bins.get(b, [0, 0])[1])
            for b in range(max(bins, default=-1) + 1)]


def spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return None
    # BENCH_SCALE_PROFILE=gil: only the thread holding the interpreter lock is sampled,
    # so the profile says where the Python time goes, not which threads wait.
    gil = ["--gil"] if os.environ.get("BENCH_SCALE_PROFILE") == "gil" else []
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--format", "raw", "--output",
                             str(out), "--rate", "250", "--nonblocking", *gil],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_spy(prof: subprocess.Popen[bytes], out: Path, name: str) -> list[tuple[str, float]]:
    """Stop py-spy; keep its stacks in bench-results; the top frames."""
    prof.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        prof.wait(timeout=60)
    if not out.exists():
        return []
    RESULTS.mkdir(exist_ok=True)
    shutil.copy(out, RESULTS / f"scale-apply-profile-{name}.txt")
    return top_frames(out.read_text(), limit=30)


def phases(stamps: Stamps, t0: float, want: int) -> dict[str, Any]:
    """Each phase at 1%, 50% and 100% of `want`, seconds after the apply. Pure."""
    out: dict[str, Any] = {}
    for name, times in (("created", list(stamps.created.values())),
                        ("placed", list(stamps.placed.values())),
                        ("running (status in etcd)", list(stamps.running.values()))):
        out[name] = [reached(times, t0, want, s) for s in (0.01, 0.5, 1.0)]
    lags = [stamps.running[t] - stamps.created[t] for t in stamps.running
            if t in stamps.created]
    if lags:
        out["create to running, p50/p90/max"] = quantiles(lags)
        out["create to container start"] = quantiles(
            [stamps.started[t] - stamps.created[t] for t in stamps.started
             if t in stamps.created])
        out["container start to status in etcd"] = quantiles(
            [stamps.running[t] - stamps.started[t] for t in stamps.started])
    out["timeline (per 0.5 s: created, running)"] = timeline(stamps, t0)
    full = [t for t, n in stamps.counted if n >= want]
    out["counted (service status)"] = round(min(full) - t0, 3) if full else None
    return out


def rounds(cluster: HollowCluster) -> tuple[float, float]:
    """(rounds planned, seconds spent planning) so far, from the server's /metrics."""
    from dockyard.deploy.bench.scale_failover_run import rounds as read  # it imports this

    return read(cluster)


def main() -> int:
    nodes = int(os.environ.get("BENCH_SCALE_NODES", "300"))
    replicas = int(os.environ.get("BENCH_SCALE_REPLICAS", str(10 * nodes)))
    timeout_s = float(os.environ.get("BENCH_SCALE_TIMEOUT", "120"))
    profile = os.environ.get("BENCH_SCALE_PROFILE", "") in ("1", "gil")
    root = Path(tempfile.mkdtemp(prefix="dockyard-scale-apply-"))
    heartbeat = os.environ.get("BENCH_SCALE_HEARTBEAT", "")  # the server's --heartbeat
    cluster = up(0, root=root, server_args=("--heartbeat", heartbeat) if heartbeat else ())
    obs = Observer(cluster)
    report: dict[str, Any] = {"nodes": nodes, "replicas": replicas}
    stop = threading.Event()
    stamps = Stamps()
    prof = None
    try:
        for done in range(0, nodes, 100):
            cluster.add_nodes(min(100, nodes - done))
            w = poll(lambda: obs.ready_nodes(), min(nodes, done + 100), timeout_s=60,
                     every_s=0.2)
            if not w.ok:
                print(f"join: only {w.last} nodes ready", flush=True)
                return 1
        print(f"{nodes} nodes ready", flush=True)
        time.sleep(3)
        watcher = threading.Thread(target=watch, args=(cluster, stamps, stop), daemon=True)
        watcher.start()
        time.sleep(0.5)
        # What the idle cluster costs (heartbeats, sessions), per second, for scale.
        idle_prof = (spy(cluster.server.pid, root / "profile-idle.txt")
                     if profile and cluster.server else None)
        cpu0 = cpu_by_part(cluster)
        time.sleep(IDLE_S)
        cpu1 = cpu_by_part(cluster)
        if idle_prof is not None:
            report["profile_idle_top"] = stop_spy(idle_prof, root / "profile-idle.txt", "idle")
        report["cpu_share_idle"] = {k: round((cpu1.get(k, 0) - cpu0.get(k, 0)) / IDLE_S, 2)
                                    for k in cpu1}
        report["load_before"] = os.getloadavg()
        rounds0 = rounds(cluster)  # before the profile: /metrics is no small read
        cpu0 = cpu_by_part(cluster)
        agent_prof = None
        if profile and cluster.server:
            prof = spy(cluster.server.pid, root / "profile.txt")
            agent_prof = spy(cluster.groups[-1].proc.pid, root / "profile-agent.txt")
        t0 = time.monotonic()
        apply(obs, replicas_app(APP, replicas))
        w = poll(lambda: max((n for _, n in stamps.counted), default=0), replicas,
                 timeout_s=timeout_s, every_s=0.05)
        report["apply_s"] = round(w.seconds, 3)
        report["done"] = w.ok
        report["phases"] = phases(stamps, t0, replicas)
        report["transactions"] = {k: len(v) for k, v in stamps.revisions.items()}
        cpu1 = cpu_by_part(cluster)
        report["cpu_seconds_apply"] = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1)
                                       for k in cpu1}
        if prof is not None:
            report["profile_top"] = stop_spy(prof, root / "profile.txt", "apply")
        if agent_prof is not None:
            report["profile_agent_top"] = stop_spy(agent_prof, root / "profile-agent.txt",
                                                   "agent")
        rounds1 = rounds(cluster)
        report["leader rounds / seconds planning"] = [int(rounds1[0] - rounds0[0]),
                                                      round(rounds1[1] - rounds0[1], 2)]
        prof = (spy(cluster.server.pid, root / "profile-delete.txt")
                if profile and cluster.server else None)
        cpu0 = cpu1
        time.sleep(1)
        t1 = time.monotonic()
        obs.stub.DeleteApp(control_pb2.DeleteAppRequest(name=APP), timeout=60)
        w = poll(lambda: min(len(stamps.gone_tasks), len(stamps.gone_status)),
                 len(stamps.created), timeout_s=timeout_s, every_s=0.1)
        report["delete_s"] = round(w.seconds, 3)
        report["delete_done"] = w.ok
        report["deleted"] = [reached(list(stamps.gone_tasks.values()), t1,
                                     len(stamps.created), s) for s in (0.01, 0.5, 1.0)]
        report["transactions_all"] = {k: len(v) for k, v in stamps.revisions.items()}
        cpu1 = cpu_by_part(cluster)
        report["cpu_seconds_delete"] = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1)
                                        for k in cpu1}
        report["load_after"] = os.getloadavg()
    finally:
        stop.set()
        if prof is not None:
            report["profile_delete_top"] = stop_spy(prof, root / "profile-delete.txt",
                                                    "delete")
        RESULTS.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copy(root / "server.log", RESULTS / "scale-apply-server.log")
        cluster.down()
    print(json.dumps(report, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
