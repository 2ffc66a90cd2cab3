"""What `make bench-scale` observes of a hollow cluster: tasks and nodes through the
Control API, process memory and etcd's database from /proc and the data dir, false
node-down sightings by sampling, and the server's hottest frames from py-spy."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc

from dockyard.client.control import control_stub
from dockyard.deploy.bench.scale_cluster import HollowCluster
from dockyard.deploy.testbed.processes import children_of, is_alive
from dockyard.v1 import control_pb2, objects_pb2

T = TypeVar("T")


@dataclass
class Waited:
    """How a bounded wait ended: in time (`ok`) or not, after `seconds`, last seen value."""

    ok: bool
    seconds: float
    last: int


def poll(probe: Callable[[], int], want: int, *, timeout_s: float,
         every_s: float = 0.1, tick: Callable[[int, float], None] | None = None,
         tick_s: float = 30.0) -> Waited:
    """Poll `probe` until it returns at least `want`; bounded in time and count. A failing
    probe (an overloaded server timing out) counts as no progress, not as the end.
    `tick(last, elapsed)`, if given, hears how far it is every `tick_s` seconds."""
    t0 = time.monotonic()
    last = 0
    next_tick = tick_s
    for _ in range(int(timeout_s / every_s) + 2):
        with contextlib.suppress(grpc.RpcError):
            last = probe()
        elapsed = time.monotonic() - t0
        if last >= want:
            return Waited(True, elapsed, last)
        if elapsed > timeout_s:
            break
        if tick is not None and elapsed >= next_tick:
            tick(last, elapsed)
            next_tick = elapsed + tick_s
        time.sleep(every_s)
    return Waited(False, time.monotonic() - t0, last)


class Observer:
    """The Control API, as the benchmark reads it."""

    def __init__(self, cluster: HollowCluster) -> None:
        self.cluster = cluster
        self.stub = control_stub(cluster.address, cluster.credentials)

    def nodes(self) -> list[objects_pb2.Node]:
        return list(self.stub.ListNodes(control_pb2.ListRequest(), timeout=10).nodes)

    def ready_nodes(self, names: set[str] | None = None) -> int:
        return sum(1 for n in self.nodes() if n.state == objects_pb2.NODE_READY
                   and (names is None or n.meta.id in names))

    def running_replicas(self, app: str = "") -> int:
        """Running replicas as the control plane counts them (cheap: services only)."""
        services = self.stub.ListServices(control_pb2.ListRequest(app=app), timeout=10)
        return sum(s.status.running for s in services.services)

    def running_in_apps(self, prefix: str, *, but: str = "") -> int:
        """Running replicas of the apps whose name starts with `prefix`, except `but`."""
        services = self.stub.ListServices(control_pb2.ListRequest(), timeout=10).services
        return sum(s.status.running for s in services
                   if s.app.startswith(prefix) and s.app != but)

    def tasks(self, app: str = "", *, brief: bool = False) -> list[objects_pb2.Task]:
        request = control_pb2.ListRequest(app=app, brief=brief)
        return list(self.stub.ListTasks(request, timeout=60).tasks)

    def running_on(self, app: str, *, avoid: set[str]) -> int:
        """Tasks of `app` desired and observed running, none of them on `avoid` nodes,
        one per slot (a duplicated slot counts once). Brief tasks carry all of that: a
        poll of ten thousand whole tasks took the server and this process tenths of a
        second each time, in the very failover it times."""
        slots = {(t.service, t.slot) for t in self.tasks(app, brief=True)
                 if t.desired_state == objects_pb2.DESIRED_RUNNING
                 and t.status.state == objects_pb2.RUNNING and t.node not in avoid}
        return len(slots)

    def duplicates(self, app: str) -> int:
        live = Counter((t.service, t.slot) for t in self.tasks(app)
                       if t.desired_state == objects_pb2.DESIRED_RUNNING)
        return sum(c - 1 for c in live.values() if c > 1)


@dataclass
class DownWatch:
    """Samples node states every `every_s` and remembers alive nodes seen down.

    `dead` holds nodes we stopped on purpose; a down sighting of any other node is a
    false alarm. Sampling can miss a blip shorter than `every_s`, so this is a floor."""

    observer: Observer
    every_s: float = 0.5
    dead: set[str] = field(default_factory=set)
    false_down: set[str] = field(default_factory=set)
    sightings: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="down-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for _ in range(1_000_000):
            if self._stop.wait(self.every_s):
                return
            try:
                nodes = self.observer.nodes()
            except grpc.RpcError:
                continue
            self.samples += 1
            for n in nodes:
                if n.state == objects_pb2.NODE_DOWN and n.meta.id not in self.dead:
                    self.false_down.add(n.meta.id)
                    self.sightings += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)


def attempt(fn: Callable[[], T], default: T) -> T:
    """One reading that an overloaded server may time out: `default` then."""
    try:
        return fn()
    except grpc.RpcError:
        return default


def agent_exits(cluster: HollowCluster) -> int:
    """How many times hollow agents exited (and were restarted, as systemd would)."""
    from dockyard.deploy.bench.scale_hollow import EXIT_MARK

    n = 0
    for log in cluster.root.glob("hollow-*.log"):
        with contextlib.suppress(OSError):
            n += log.read_text(errors="replace").count(EXIT_MARK)
    return n


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def etcd_pid(cluster: HollowCluster) -> int | None:
    if cluster.server is None:
        return None
    for pid in children_of([cluster.server.pid]):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "etcd":
                return pid
    return None


def resources(cluster: HollowCluster) -> dict[str, int]:
    """Server and etcd RSS, and the size of etcd's database file, in bytes."""
    server = cluster.server.pid if cluster.server and is_alive(cluster.server) else 0
    etcd = etcd_pid(cluster) or 0
    db = cluster.data_dir / "etcd" / "member" / "snap" / "db"
    return {"server_rss": rss_bytes(server) if server else 0,
            "etcd_rss": rss_bytes(etcd) if etcd else 0,
            "etcd_db": db.stat().st_size if db.exists() else 0}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(cluster: HollowCluster) -> dict[str, float]:
    """CPU seconds of the server, its etcd, and all hollow processes together (with the
    launchers they were forked from, which did their imports)."""
    server = cluster.server.pid if cluster.server and is_alive(cluster.server) else 0
    etcd = etcd_pid(cluster) or 0
    hollow = cluster.launch_cpu_s + sum(cpu_seconds(g.proc.pid) for g in cluster.groups
                                        if is_alive(g.proc))
    return {"server": round(cpu_seconds(server), 1) if server else 0.0,
            "etcd": round(cpu_seconds(etcd), 1) if etcd else 0.0,
            "hollow_agents_alive": round(hollow, 1)}


class Profile:
    """py-spy sampling the server for the whole run (if py-spy is installed)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        exe = str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            return
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
             "--rate", "50", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self) -> list[tuple[str, float]]:
        """Stop sampling; the top frames by share of samples they are on (inclusive)."""
        if self.proc is None:
            return []
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.out.exists():
            return []
        return top_frames(self.out.read_text())

    def keep(self, dest: Path) -> None:
        """A copy of the raw collapsed stacks (for flame graphs, or a closer look)."""
        if self.out.exists():
            shutil.copy(self.out, dest)


def top_frames(collapsed: str, *, limit: int = 15) -> list[tuple[str, float]]:
    """From py-spy's collapsed stacks ("a;b;c N" per line): each frame's share of all
    samples that have it anywhere on the stack, highest first. Pure."""
    total = 0
    seen: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            seen[frame] += n
    if not total:
        return []
    interesting = [(f, c / total) for f, c in seen.most_common() if not _plumbing(f)]
    return interesting[:limit]


def _plumbing(frame: str) -> bool:
    """Frames every sample passes through (the interpreter, the event loop, the command's
    entry): they say nothing about where the time goes. Pure."""
    where = frame[frame.rfind("(") + 1:]
    return (frame.startswith(("<module>", "_run_module_as_main", "_run_code"))
            or where.startswith(("asyncio/", "threading.py", "<frozen", "concurrent/"))
            or where.startswith(("cli/main.py", "cli/dispatch.py")))
