"""A hollow cluster: a real `dockyard server` (with its embedded etcd) on loopback, and
hollow agents (`scale_hollow`) in a few processes. No root, no namespaces, no Docker.

`dockyard dev-cluster up --hollow N` and `make bench-scale` both stand on it. Everything
it starts is recorded (pid and kernel start time) in ROOT/state.json, so `down` stops
exactly those processes, even after a crash of the caller. The root is
$DOCKYARD_HOLLOW_DIR, or /tmp/dockyard-hollow-<uid>.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.deploy.testbed.processes import (
    ProcRecord,
    clean_env,
    is_alive,
    kill_pids,
    start,
    start_time_of,
    stop_pids,
    tail,
)

PER_PROCESS = 100  # hollow nodes per process
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HollowError(Exception):
    """A hollow cluster could not be brought up or down, in one line."""


def default_root() -> Path:
    return Path(os.environ.get("DOCKYARD_HOLLOW_DIR") or f"/tmp/dockyard-hollow-{os.getuid()}")


def groups_of(count: int, per_process: int) -> list[int]:
    """Split `count` nodes into process sizes of at most `per_process`. Pure."""
    if count <= 0:
        return []
    n = -(-count // per_process)
    base, extra = divmod(count, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


@dataclass
class Group:
    """One hollow process and the nodes it runs."""

    proc: ProcRecord
    prefix: str
    first: int
    count: int

    def names(self) -> list[str]:
        from dockyard.deploy.bench.scale_hollow import node_names

        return node_names(self.prefix, self.first, self.count)

    def to_json(self) -> dict[str, Any]:
        return {"proc": self.proc.to_json(), "prefix": self.prefix, "first": self.first,
                "count": self.count}

    @staticmethod
    def from_json(d: dict[str, Any]) -> Group:
        return Group(ProcRecord.from_json(d["proc"]), str(d["prefix"]), int(d["first"]),
                     int(d["count"]))


@dataclass
class HollowCluster:
    root: Path
    grpc_port: int
    http_port: int
    etcd_port: int
    server: ProcRecord | None = None
    groups: list[Group] = field(default_factory=list)
    launch_cpu_s: float = 0.0  # the hollow launchers' CPU (they exit once they forked)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "server"

    @property
    def credentials(self) -> Path:
        return self.data_dir / "admin.pem"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "join-token"

    def nodes(self) -> int:
        return sum(g.count for g in self.groups)

    def save(self) -> None:
        data = {"grpc_port": self.grpc_port, "http_port": self.http_port,
                "etcd_port": self.etcd_port,
                "server": self.server.to_json() if self.server else None,
                "groups": [g.to_json() for g in self.groups]}
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.root / "state.json")

    @staticmethod
    def load(root: Path) -> HollowCluster | None:
        try:
            d = json.loads((root / "state.json").read_text())
        except (OSError, ValueError):
            return None
        return HollowCluster(
            root=root, grpc_port=int(d["grpc_port"]), http_port=int(d["http_port"]),
            etcd_port=int(d["etcd_port"]),
            server=ProcRecord.from_json(d["server"]) if d.get("server") else None,
            groups=[Group.from_json(g) for g in d.get("groups", [])])

    def to_json(self) -> dict[str, Any]:
        return {"server": self.address, "credentials": str(self.credentials),
                "server_pid": self.server.pid if self.server else None,
                "nodes": self.nodes(),
                "processes": [{"pid": g.proc.pid, "nodes": g.count,
                               "first": g.names()[0] if g.count else ""}
                              for g in self.groups]}

    # -- the server -------------------------------------------------------------------

    def start_server(self, *extra: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "dockyard.cli", "server",
                "--data-dir", str(self.data_dir), "--listen", self.address,
                "--http-listen", f"127.0.0.1:{self.http_port}",
                "--etcd-port", str(self.etcd_port), "--admin-credentials=",
                # Every hollow agent joins from 127.0.0.1: one source address for all.
                "--join-rate", "2000/2000",
                # A /24 per node: the default /16 holds 256 nodes, this one 4,096.
                "--cluster-cidr", "10.96.0.0/12", *extra]
        self.server = start(argv, self.root / "server.log")
        self.save()
        deadline = time.monotonic() + 60
        for _ in range(1200):
            if not is_alive(self.server):
                raise HollowError(f"the server exited: {tail(self.server.log)}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.http_port}/healthz"
                with _DIRECT.open(url, timeout=1) as r:
                    if r.status == 200 and self.token_file.exists():
                        return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise HollowError(f"the server did not become healthy: {tail(self.server.log)}")

    # -- hollow processes ---------------------------------------------------------------

    def add_nodes(self, count: int, *, prefix: str = "hollow-", labels: str = "hollow=true",
                  per_process: int = PER_PROCESS, start_delay_s: float = 0.0) -> list[Group]:
        """Start `count` more hollow nodes in new processes; returns their groups. One
        launcher imports once and forks the processes (scale_hollow `--group`)."""
        first = sum(g.count for g in self.groups if g.prefix == prefix)
        base = [sys.executable, "-m", "dockyard.deploy.bench.scale_hollow",
                "--join", self.address, "--token-file", str(self.token_file),
                "--prefix", prefix, "--labels", labels,
                "--state-dir", str(self.root / "agents"), "--start-delay", str(start_delay_s)]
        planned: list[tuple[int, int, Path]] = []
        for size in groups_of(count, per_process):
            log = self.root / f"hollow-{len(self.groups) + len(planned)}.log"
            planned.append((first, size, log))
            first += size
        if not planned:
            return []
        pids = self.root / f"hollow-pids-{len(self.groups)}"
        argv = [*base, "--pids-file", str(pids),
                *(a for f, n, log in planned for a in ("--group", f"{f}:{n}:{log}"))]
        launcher = start(argv, self.root / "hollow-launcher.log", env=clean_env())
        self.launch_cpu_s += _wait_launcher(launcher.pid)
        try:
            forked = [int(line) for line in pids.read_text().split()]
        except (OSError, ValueError):
            forked = []
        if len(forked) != len(planned):
            raise HollowError(f"the hollow launcher failed: "
                              f"{tail(self.root / 'hollow-launcher.log')}")
        made = []
        for pid, (f, n, log) in zip(forked, planned, strict=True):
            own = (*base, "--first", str(f), "--count", str(n))
            rec = ProcRecord(pid=pid, start_time=start_time_of(pid) or 0, argv=own, log=str(log))
            g = Group(rec, prefix, f, n)
            self.groups.append(g)
            made.append(g)
        self.save()
        return made

    def stop_group(self, group: Group, *, kill: bool = False) -> None:
        """Stop one hollow process: SIGKILL (a host dying) or SIGTERM."""
        if not is_alive(group.proc):
            return
        if kill:
            kill_pids([group.proc.pid])
        else:
            stop_pids([group.proc.pid], timeout=10)

    def down(self) -> None:
        """Stop every recorded process (agents first), then remove the root."""
        live = [g.proc.pid for g in self.groups if is_alive(g.proc)]
        stop_pids(live, timeout=10)
        if self.server is not None and is_alive(self.server):
            stop_pids([self.server.pid], timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_launcher(pid: int, timeout_s: float = 120.0) -> float:
    """Wait (bounded) for a hollow launcher to exit; the CPU seconds it used."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.02) + 2):
        try:
            done, _status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return 0.0
        if done:
            return float(usage.ru_utime + usage.ru_stime)
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    kill_pids([pid])
    raise HollowError(f"the hollow launcher (pid {pid}) did not finish in {timeout_s:g}s")


def _free_ports(n: int) -> list[int]:
    """`n` free loopback ports, the last followed by a free one too (etcd's peer port)."""
    for _ in range(50):
        socks = []
        try:
            for _ in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                socks.append(s)
            ports = [int(s.getsockname()[1]) for s in socks]
            with socket.socket() as peer:
                peer.bind(("127.0.0.1", ports[-1] + 1))
            return ports
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise HollowError("no free loopback ports")


def up(nodes: int, *, root: Path | None = None, per_process: int = PER_PROCESS,
       server_args: tuple[str, ...] = ()) -> HollowCluster:
    """A new hollow cluster of `nodes` hollow nodes (fails if one is already up)."""
    root = root or default_root()
    old = HollowCluster.load(root)
    if old is not None and old.server is not None and is_alive(old.server):
        raise HollowError(f"a hollow cluster is already up in {root} (dev-cluster down first)")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, mode=0o700)
    grpc_port, http_port, etcd_port = _free_ports(3)
    cluster = HollowCluster(root=root, grpc_port=grpc_port, http_port=http_port,
                            etcd_port=etcd_port)
    try:
        cluster.start_server(*server_args)
        cluster.add_nodes(nodes, per_process=per_process)
    except BaseException:
        cluster.down()
        raise
    return cluster


def down(root: Path | None = None) -> bool:
    """Take the hollow cluster in `root` down; False when there was none."""
    root = root or default_root()
    cluster = HollowCluster.load(root)
    if cluster is None:
        return False
    cluster.down()
    return True


def status(root: Path | None = None) -> HollowCluster | None:
    return HollowCluster.load(root or default_root())
