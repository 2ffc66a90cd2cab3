"""`make bench-scale`: the control plane against hundreds of hollow nodes.

A real `dockyard server` with its real etcd, and hollow agents (the real session and
runner over in-memory containers, `scale_hollow`), many per process. It measures, in
one run, each figure next to a baseline taken by the same harness in the same run:

- join: N nodes joining at once, against one node joining alone;
- apply to all running: R replicas on N nodes, in tasks/s, against R0 replicas on the
  first 10 nodes before the others joined;
- the seed's figure, 1,000 replicas on a cluster of 100 nodes (its own server, first
  and alone; the small form's own apply is that figure, so it has no such phase);
- reads: `dockyard get tasks -o json` with every task, against `dockyard get apps -o
  json` (what any CLI call costs);
- memory: server and etcd RSS and etcd's database, against the idle server;
- failover: SIGKILL of the process holding 10% of the nodes, until their tasks run
  elsewhere, against the node grace (the soonest they can be declared down);
- apps: A apps of S single-replica services, against one such app alone;
- false node-down: nodes that were alive but seen down, sampled every 0.5 s.

BENCH_SCALE=small (the default): 100 nodes, 1,000 replicas, 10 apps of 10 services.
BENCH_SCALE=full: 1,000 nodes, 10,000 replicas, 100 apps of 10 services.
BENCH_SCALE=tiny (the test suite's reduced form): 20 nodes, 200 replicas, 2 apps of 3.
BENCH_SCALE_TIMEOUT=S bounds each phase (default 60 s small and tiny, 600 s full);
BENCH_SCALE_NODES, _REPLICAS, _BASE_REPLICAS, _APPS and _SERVICES change the size.
Each phase prints a line as it ends (and a long wait one every 30 s), flushed.
BENCH_SCALE_PROFILE=1 also runs py-spy against the server and prints its top frames.
Results go to bench-results/scale.json. Waits are bounded: a phase that does not finish
in time is reported as such, with how far it got, and the run goes on.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import grpc

from dockyard.client.compose import load_app
from dockyard.deploy.bench.cli import compile_sources
from dockyard.deploy.bench.cluster import RESULTS, write_report
from dockyard.deploy.bench.scale_cluster import HollowCluster, up
from dockyard.deploy.bench.scale_failover import detection, probation_wait_s, read_declared
from dockyard.deploy.bench.scale_probe import (
    DownWatch,
    Observer,
    Profile,
    Waited,
    agent_exits,
    attempt,
    cpu_by_part,
    poll,
    resources,
)
from dockyard.deploy.bench.scale_progress import Progress
from dockyard.v1 import control_pb2

NODE_GRACE_S = 4.0  # the server's default --node-grace
TARGETS = ("1,000 nodes joined <= 10 s; 10,000 replicas on 1,000 nodes <= 5 s (>= 2,000 "
           "tasks/s); 1,000 at 100 nodes <= 1 s; get tasks at 10,000 <= 0.5 s; server RSS "
           "< 1 GB; failover <= grace + 2 s; no false node-down")


@dataclass(frozen=True)
class Size:
    nodes: int
    replicas: int
    base_replicas: int  # on the first 10 nodes
    apps: int
    services: int  # per app
    timeout_s: float  # per phase (BENCH_SCALE_TIMEOUT overrides)
    task_poll_s: float  # how often the failover wait lists every task
    read_runs: int = 3  # CLI reads timed (the median is kept)
    # The seed's figure in a cluster of its own, before the rest: nodes, replicas (0: none).
    seed_nodes: int = 0
    seed_replicas: int = 0


SIZES = {
    "small": Size(nodes=100, replicas=1000, base_replicas=1000, apps=10, services=10,
                  timeout_s=60, task_poll_s=0.5),
    "full": Size(nodes=1000, replicas=10000, base_replicas=1000, apps=100, services=10,
                 timeout_s=600, task_poll_s=0.5, seed_nodes=100, seed_replicas=1000),
    # The reduced form the test suite runs (tests/integration/test_bench_scale.py).
    "tiny": Size(nodes=20, replicas=200, base_replicas=100, apps=2, services=3,
                 timeout_s=60, task_poll_s=0.5, read_runs=1, seed_nodes=11, seed_replicas=50),
}
# Environment knobs over the chosen size: BENCH_SCALE_NODES=40 and so on.
KNOBS = {"NODES": "nodes", "REPLICAS": "replicas", "BASE_REPLICAS": "base_replicas",
         "APPS": "apps", "SERVICES": "services", "TIMEOUT": "timeout_s"}
MIN_NODES = 11  # the 10 baseline nodes and at least one more


def chosen_size(env: dict[str, str]) -> tuple[str, Size]:
    """The size named by BENCH_SCALE (default small) with the BENCH_SCALE_* knobs applied;
    ValueError with one line on a bad value. Pure."""
    name = env.get("BENCH_SCALE", "") or "small"
    if name not in SIZES:
        raise ValueError(f"BENCH_SCALE must be one of {', '.join(SIZES)}, not {name!r}")
    changes: dict[str, Any] = {}
    for knob, attr in KNOBS.items():
        raw = env.get(f"BENCH_SCALE_{knob}", "")
        if not raw:
            continue
        try:
            value = float(raw) if attr == "timeout_s" else int(raw)
        except ValueError:
            raise ValueError(f"BENCH_SCALE_{knob} must be a number, not {raw!r}") from None
        if value <= 0:
            raise ValueError(f"BENCH_SCALE_{knob} must be positive, not {raw!r}")
        changes[attr] = value
    size = replace(SIZES[name], **changes)
    if size.nodes < MIN_NODES:
        raise ValueError(f"BENCH_SCALE_NODES must be at least {MIN_NODES} (10 baseline "
                         f"nodes and one more), not {size.nodes}")
    return name, size


def replicas_app(name: str, replicas: int) -> str:
    """One service of `replicas` tiny sleepers, spread. Pure."""
    return f"""
name: {name}
x-dockyard: {{strategy: spread}}
services:
  sleeper:
    image: busybox
    command: ["sleep", "86400"]
    deploy:
      replicas: {replicas}
      resources:
        reservations: {{cpus: "0.01", memory: 8M}}
"""


def services_app(name: str, services: int) -> str:
    """`services` single-replica services, spread. Pure."""
    body = "".join(f"""
  s{i}:
    image: busybox
    command: ["sleep", "86400"]
    deploy:
      resources:
        reservations: {{cpus: "0.01", memory: 8M}}
""" for i in range(services))
    return f"name: {name}\nx-dockyard: {{strategy: spread}}\nservices:{body}"


def apply(obs: Observer, text: str) -> None:
    def no_files(path: str) -> bytes:
        raise FileNotFoundError(path)

    spec = load_app(text, read_file=no_files, default_name="bench").spec
    obs.stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=60)


def delete(obs: Observer, app: str, timeout_s: float) -> Waited:
    obs.stub.DeleteApp(control_pb2.DeleteAppRequest(name=app), timeout=60)
    return poll(lambda: 1 if not obs.tasks(app) else 0, 1, timeout_s=timeout_s, every_s=0.2)


def figure(w: Waited, want: int) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": round(w.seconds, 3), "done": w.ok, "reached": w.last,
                           "wanted": want}
    if w.ok and w.seconds > 0:
        out["per_second"] = round(want / w.seconds, 1)
    return out


def cli_seconds(cluster: HollowCluster, *args: str, runs: int = 3) -> float:
    """Median wall time of the real CLI as a process (what a user waits)."""
    env = {**os.environ, "DOCKYARD_SERVER": cluster.address,
           "DOCKYARD_CREDENTIALS": str(cluster.credentials)}
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                             capture_output=True, timeout=120)
        times.append(time.monotonic() - t0 if out.returncode == 0 else float("inf"))
    return statistics.median(times)


def rpc_seconds(obs: Observer, runs: int = 3) -> float:
    """Median wall time of the ListTasks call alone, as `get tasks -o json` asks it (the
    server's share of `get tasks`, without the CLI process starting)."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        try:
            obs.stub.ListTasks(control_pb2.ListRequest(brief=True, json_rows=True), timeout=60)
        except grpc.RpcError:
            times.append(float("inf"))
            continue
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and value != float("inf") else "n/a"


def seed_figure(size: Size, say: Progress) -> dict[str, Any]:
    """The seed's figure: `seed_replicas` on a cluster of `seed_nodes` (one hollow
    process), from apply to all running, in a cluster of its own taken down after."""
    root = Path(tempfile.mkdtemp(prefix="dockyard-scale-seed-"))
    cluster = up(0, root=root)
    try:
        obs = Observer(cluster)
        cluster.add_nodes(size.seed_nodes, prefix="seed-")
        w = poll(lambda: obs.ready_nodes(), size.seed_nodes, timeout_s=size.timeout_s)
        say.waited(f"seed cluster of {size.seed_nodes}", w, size.seed_nodes, "nodes ready")
        t0 = time.monotonic()
        apply(obs, replicas_app("seed", size.seed_replicas))
        w = poll(lambda: obs.running_replicas("seed"), size.seed_replicas,
                 timeout_s=size.timeout_s, every_s=0.1)
        done = Waited(w.ok, time.monotonic() - t0, w.last)
        say.waited(f"apply on {size.seed_nodes} nodes", done, size.seed_replicas,
                   "replicas running")
        return {**figure(done, size.seed_replicas), "nodes": size.seed_nodes,
                "duplicates": attempt(lambda: obs.duplicates("seed"), -1)}
    finally:
        cluster.down()


def run(size: Size, size_name: str, report: dict[str, Any], *, profile: bool,
        progress: Progress | None = None) -> None:
    """Fill `report` phase by phase (so that what was measured survives a failure), and
    say how each phase went as it ends."""
    say = progress or Progress()
    if size.seed_nodes and size.seed_replicas:
        report["apply_seed"] = seed_figure(size, say)
    root = Path(tempfile.mkdtemp(prefix="dockyard-scale-"))
    cluster = up(0, root=root)
    say.line("server", f"up at {cluster.address}")
    obs = Observer(cluster)
    report.update({**asdict(size), "load_before": os.getloadavg()})
    prof = Profile(cluster.server.pid, root / "profile.txt") if (
        profile and cluster.server) else None
    watch = DownWatch(obs)
    try:
        report["resources_idle"] = resources(cluster)
        # Baselines: one node alone, then ten nodes and R0 replicas.
        t0 = time.monotonic()
        first = cluster.add_nodes(1, prefix="base-")
        names = set(first[0].names())
        w = poll(lambda: obs.ready_nodes(names), 1, timeout_s=60)
        report["join_1"] = figure(Waited(w.ok, time.monotonic() - t0, w.last), 1)
        say.waited("join of 1 node", Waited(w.ok, time.monotonic() - t0, w.last), 1,
                   "node ready")
        rest = cluster.add_nodes(9, prefix="base-")
        names |= set(rest[0].names())
        w = poll(lambda: obs.ready_nodes(names), 10, timeout_s=60)
        say.waited("join of 9 more", w, 10, "nodes ready")
        watch.start()
        apply(obs, replicas_app("baseline", size.base_replicas))
        w = poll(lambda: obs.running_replicas("baseline"), size.base_replicas,
                 timeout_s=size.timeout_s,
                 tick=say.ticker("apply on 10 nodes", size.base_replicas, "running"))
        report["apply_10_nodes"] = figure(w, size.base_replicas)
        say.waited("apply on 10 nodes", w, size.base_replicas, "replicas running")
        w = delete(obs, "baseline", size.timeout_s)
        say.line("delete the baseline", ("its tasks gone" if w.ok else "NOT DONE: tasks left")
                 + f" after {w.seconds:.1f} s")
        # N nodes joining at once (in processes of 10% of N each).
        more = size.nodes - 10
        t0 = time.monotonic()
        groups = cluster.add_nodes(more, prefix="hollow-", per_process=max(1, size.nodes // 10))
        w = poll(lambda: obs.ready_nodes(), size.nodes, timeout_s=size.timeout_s, every_s=0.2,
                 tick=say.ticker(f"join of {more}", size.nodes, "nodes ready"))
        joined_at = time.monotonic()
        report["join_n"] = figure(Waited(w.ok, time.monotonic() - t0, w.last), more)
        say.waited(f"join of {more}", Waited(w.ok, time.monotonic() - t0, w.last),
                   size.nodes, "nodes ready")
        # R replicas on N nodes.
        t0 = time.monotonic()
        apply(obs, replicas_app("scale", size.replicas))
        w = poll(lambda: obs.running_replicas("scale"), size.replicas,
                 timeout_s=size.timeout_s, every_s=0.25,
                 tick=say.ticker(f"apply on {size.nodes} nodes", size.replicas, "running"))
        report["apply_n_nodes"] = figure(Waited(w.ok, time.monotonic() - t0, w.last),
                                         size.replicas)
        say.waited(f"apply on {size.nodes} nodes", Waited(w.ok, time.monotonic() - t0, w.last),
                   size.replicas, "replicas running")
        report["duplicates_after_apply"] = attempt(lambda: obs.duplicates("scale"), -1)
        # Reads.
        compile_sources()  # as installed: no module compiled again on each call
        runs = size.read_runs
        report["get_tasks_s"] = cli_seconds(cluster, "get", "tasks", "-o", "json", runs=runs)
        report["list_tasks_rpc_s"] = rpc_seconds(obs, runs=runs)
        report["get_apps_s"] = cli_seconds(cluster, "get", "apps", "-o", "json", runs=runs)
        report["tasks_listed"] = attempt(lambda: len(obs.tasks()), -1)
        report["resources_loaded"] = resources(cluster)
        say.line("reads", f"get tasks -o json {report['get_tasks_s']:.2f} s "
                 f"({report['tasks_listed']} tasks), ListTasks "
                 f"{report['list_tasks_rpc_s']:.2f} s, get apps {report['get_apps_s']:.2f} s")
        # Failover: a process holding 10% of the nodes dies.
        # Killed while on probation, the nodes would be judged by the longest grace.
        wait = probation_wait_s(joined_at, time.monotonic())
        if wait > 0:
            say.line("failover", f"waiting {wait:.1f} s: the nodes to kill are past probation")
            time.sleep(wait)
        victim = next(g for g in groups if g.count == max(g.count for g in groups))
        dead = set(victim.names())
        watch.dead |= dead
        on_victim = attempt(lambda: sum(1 for t in obs.tasks("scale") if t.node in dead), -1)
        t0, killed_at = time.monotonic(), time.time()
        cluster.stop_group(victim, kill=True)
        w = poll(lambda: obs.running_on("scale", avoid=dead), size.replicas,
                 timeout_s=size.timeout_s, every_s=size.task_poll_s,
                 tick=say.ticker("failover", size.replicas, "running on live nodes"))
        say.waited(f"failover of {len(dead)} nodes", Waited(w.ok, time.monotonic() - t0, w.last),
                   size.replicas, "replicas running on live nodes")
        report["failover"] = {**figure(Waited(w.ok, time.monotonic() - t0, w.last),
                                       size.replicas),
                              "nodes_killed": len(dead), "tasks_moved": on_victim,
                              "detection": detection(read_declared(cluster.root / "server.log"),
                                                     killed_at=killed_at, dead=dead)}
        report["duplicates_after_failover"] = attempt(lambda: obs.duplicates("scale"), -1)
        # Apps of many services: one alone, then all at once.
        apply(obs, services_app("app-base", size.services))
        w = poll(lambda: obs.running_replicas("app-base"), size.services,
                 timeout_s=size.timeout_s)
        report["one_app"] = figure(w, size.services)
        say.waited("one app", w, size.services, "services running")
        t0 = time.monotonic()
        for i in range(size.apps):
            apply(obs, services_app(f"app-{i:03d}", size.services))
        want = size.services * size.apps
        w = poll(lambda: obs.running_in_apps("app-", but="app-base"), want,
                 timeout_s=size.timeout_s, every_s=0.25,
                 tick=say.ticker(f"{size.apps} apps", want, "services running"))
        report["many_apps"] = figure(Waited(w.ok, time.monotonic() - t0, w.last), want)
        say.waited(f"{size.apps} apps", Waited(w.ok, time.monotonic() - t0, w.last), want,
                   "services running")
        report["resources_end"] = resources(cluster)
    finally:
        say.line("done", "taking the cluster down")
        watch.stop()
        report["false_down"] = {"nodes": len(watch.false_down), "of": size.nodes,
                                "share": round(len(watch.false_down) / size.nodes, 4),
                                "sightings": watch.sightings, "samples": watch.samples}
        if prof is not None:
            report["profile_top"] = [(f, round(s, 3)) for f, s in prof.finish()]
            RESULTS.mkdir(exist_ok=True)
            prof.keep(RESULTS / f"scale-{size_name}-profile.txt")
        report["load_after"] = os.getloadavg()
        report["live_declared_down"] = detection(
            read_declared(cluster.root / "server.log"), killed_at=0.0,
            dead=watch.dead)["live_declared"]
        report["agent_exits"] = agent_exits(cluster)
        report["cpu_seconds"] = {**cpu_by_part(cluster),
                                 "bench_observer": round(time.process_time(), 1)}
        keep_logs(cluster)
        cluster.down()


def keep_logs(cluster: HollowCluster) -> None:
    """The server's and the hollow processes' logs, kept for reading after the run."""
    dest = RESULTS / "scale-logs"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for log in cluster.root.glob("*.log"):
        shutil.copy(log, dest / log.name)


def print_report(r: dict[str, Any]) -> None:
    def line(label: str, value: str, base: str = "") -> None:
        print(f"  {label:<44} {value:<26} {base}")

    def took(f: dict[str, Any]) -> str:
        if not f.get("done"):
            return f"NOT DONE in {f['seconds']:.1f}s ({f['reached']}/{f['wanted']})"
        return f"{f['seconds']:.2f}s"

    if "nodes" not in r:
        print(f"bench-scale did not start: {r.get('error')}")
        return
    n, rep = r["nodes"], r["replicas"]
    print(f"\nbench-scale ({r['size']}): {n} hollow nodes, load before "
          f"{r['load_before'][0]:.1f}, after {r['load_after'][0]:.1f} (2-core machine)")
    j1, jn = r.get("join_1"), r.get("join_n")
    if j1 and jn:
        line(f"join of {jn['wanted']} nodes at once", took(jn),
             f"vs 1 node alone {j1['seconds']:.2f}s: {ratio(jn['seconds'], j1['seconds'])}")
    seed = r.get("apply_seed")
    if seed:
        line(f"apply {seed['wanted']} replicas on {seed['nodes']} nodes", took(seed)
             + f" ({seed.get('per_second', 0.0):.0f} tasks/s)",
             f"a cluster of its own; duplicated slots {seed['duplicates']}")
    a10, an = r.get("apply_10_nodes"), r.get("apply_n_nodes")
    if a10 and an:
        rate = an.get("per_second", 0.0)
        base = a10.get("per_second", 0.0)
        line(f"apply {rep} replicas on {n} nodes", f"{took(an)} ({rate:.0f} tasks/s)",
             f"vs {a10['wanted']} on 10 nodes {base:.0f} tasks/s: {ratio(rate, base)}")
        print(f"  {'duplicated slots after apply':<44} {r.get('duplicates_after_apply')}")
    if "get_tasks_s" in r:
        line(f"get tasks -o json ({r['tasks_listed']} tasks)", f"{r['get_tasks_s']:.2f}s",
             f"vs get apps {r['get_apps_s']:.2f}s: {ratio(r['get_tasks_s'], r['get_apps_s'])}")
        if "list_tasks_rpc_s" in r:
            line("  of which the ListTasks call", f"{r['list_tasks_rpc_s']:.2f}s",
                 "(the rest: the CLI process starting and printing)")
    idle, loaded = r.get("resources_idle"), r.get("resources_end") or r.get("resources_loaded")
    if idle and loaded:
        for key, label in (("server_rss", "server RSS"), ("etcd_rss", "etcd RSS"),
                           ("etcd_db", "etcd DB size")):
            line(label, f"{loaded[key] / 2**20:.0f} MiB",
                 f"vs idle {idle[key] / 2**20:.0f} MiB: {ratio(loaded[key], idle[key])}")
    fo = r.get("failover")
    if fo:
        extra = f" (grace + {fo['seconds'] - NODE_GRACE_S:.1f}s)" if fo["done"] else ""
        line(f"failover of {fo['nodes_killed']} nodes ({fo['tasks_moved']} tasks)",
             took(fo) + extra, f"vs node grace {NODE_GRACE_S:.0f}s: "
             f"{ratio(fo['seconds'], NODE_GRACE_S)}")
        det = fo.get("detection") or {}
        if det.get("dead_declared"):
            print(f"  {'  killed nodes declared down after':<44} {det['first_s']:.1f}s first, "
                  f"{det['median_s']:.1f}s median, {det['last_s']:.1f}s last "
                  f"({det['dead_declared']} of {fo['nodes_killed']}; server log)")
        print(f"  {'duplicated slots after failover':<44} {r.get('duplicates_after_failover')}")
    one, many = r.get("one_app"), r.get("many_apps")
    if one and many:
        line(f"{r['apps']} apps of {r['services']} services", took(many),
             f"vs 1 app alone {one['seconds']:.2f}s: {ratio(many['seconds'], one['seconds'])}")
    fd = r["false_down"]
    line("alive nodes seen down (false node-down)",
         f"{fd['nodes']} of {fd['of']} ({fd['share']:.1%})",
         f"{fd['sightings']} sightings in {fd['samples']} samples")
    if "live_declared_down" in r:
        print(f"  {'alive nodes declared down (server log)':<44} {r['live_declared_down']}")
    print(f"  {'agent exits (restarted after 1 s, as systemd does)':<44} "
          f"{r.get('agent_exits')}")
    if "error" in r:
        print(f"  the run broke off: {r['error']}")
    print(f"  targets (docs/promises.md): {TARGETS}")
    cpu = r.get("cpu_seconds")
    if cpu:
        print("  CPU seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    for frame, share in r.get("profile_top", []):
        print(f"    {share:6.1%}  {frame}")


def main() -> int:
    try:
        size, chosen = chosen_size(dict(os.environ))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report: dict[str, Any] = {"size": size}
    say = Progress()
    say.line("bench-scale", f"{size}: {chosen.nodes} nodes, {chosen.replicas} replicas, "
             f"{chosen.apps} apps of {chosen.services} services, phases of at most "
             f"{chosen.timeout_s:.0f} s")
    try:
        run(chosen, size, report, profile=os.environ.get("BENCH_SCALE_PROFILE", "") == "1",
            progress=say)
    except grpc.RpcError as exc:  # the server failed a call the run cannot do without
        report["error"] = f"a call to the server failed: {exc.code().name} {exc.details()}"
    except Exception as exc:  # a phase broke: keep and print what was measured
        report["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    print_report(report)
    path = write_report("scale" if size == "small" else f"scale-{size}", report)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
