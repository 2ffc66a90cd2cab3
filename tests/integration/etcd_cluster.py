"""A real 3-member etcd cluster on loopback, for the HA integration tests.

Each member is Debian's `etcd` binary run as a child process with free client and peer
ports on 127.0.0.1 and its data dir under a tmp path. A member can be stopped, killed
(SIGKILL, by pid) and restarted on the same data dir with `--initial-cluster-state
existing`. Members die with the test process (PR_SET_PDEATHSIG, set by `setpriv`, so no Python
runs in the forked child), so a crashed test run
never leaves an etcd holding a port.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.common.childproc import with_parent_death
from dockyard.controlplane.embedded_etcd import MemberTls, member_argv
from dockyard.controlplane.security.etcd_certs import ClusterFiles
from tests.integration.harness import free_port


@dataclass
class Member:
    name: str
    data_dir: Path
    client_port: int
    peer_port: int
    proc: subprocess.Popen[bytes] | None = None
    tls: ClusterFiles | None = None

    @property
    def client_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.client_port}"

    @property
    def gateway(self) -> Gateway:
        if self.tls is None:
            return Gateway(self.client_url)
        return Gateway(self.client_url, tls_context(self.tls.ca, self.tls.cert, self.tls.key))

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """The member answers /health and sees a cluster leader."""
        try:
            with urllib.request.urlopen(f"{self.client_url}/health", timeout=1,
                                        context=self.gateway.context) as r:
                return bool(json.loads(r.read()).get("health") == "true")
        except (OSError, ValueError):
            return False


def distinct_free_ports(count: int) -> list[int]:
    """`count` free loopback ports, no two alike: a port is free again as soon as it is
    probed, so two probes can name the same one (etcd then refuses the duplicate URL)."""
    ports: list[int] = []
    for _ in range(100 * count):  # bounded
        if len(ports) == count:
            break
        port = free_port()
        if port not in ports:
            ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"could not find {count} distinct free ports")
    return ports


@dataclass(init=False)
class EtcdCluster:
    """Three members; `start()` returns once every member reports healthy. With
    `tls=True` their client ports speak TLS only and require a client certificate
    (`self.tls`); peers talk plaintext on loopback."""

    root: Path
    size: int = 3
    members: list[Member] = field(default_factory=list)
    tls: ClusterFiles | None = None

    def __init__(self, root: Path, size: int = 3, *, tls: bool = False) -> None:
        self.root = root
        self.size = size
        self.tls = ClusterFiles(root / "tls") if tls else None
        ports = distinct_free_ports(2 * size)
        self.members = [
            Member(f"m{i}", root / f"m{i}", ports[2 * i], ports[2 * i + 1], tls=self.tls)
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [m.client_url for m in self.members]

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def argv(self, m: Member, state: str) -> list[str]:
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError("the `etcd` binary is not installed (apt-get install etcd-server)")
        return member_argv(
            binary=binary,
            name=m.name,
            data_dir=m.data_dir,
            client_url=m.client_url,
            peer_url=m.peer_url,
            initial_cluster=self.initial_cluster,
            state=state,
            token=f"dockyard-test-{self.root.name}",
            client_tls=MemberTls(*self.tls.member(m.name), ca=self.tls.ca) if self.tls else None,
            extra=("--heartbeat-interval", "50", "--election-timeout", "500"),
        )

    def _spawn(self, m: Member, state: str) -> None:
        m.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{m.name}.log", "ab") as log:
            m.proc = subprocess.Popen(
                with_parent_death(self.argv(m, state), "KILL"),
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )

    def start(self, timeout_s: float = 20.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.tls is not None:
            self.tls.ensure([m.name for m in self.members])
        for m in self.members:
            self._spawn(m, "new")
        self.wait_healthy(self.members, timeout_s)

    def wait_healthy(self, members: list[Member], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise RuntimeError(f"etcd {m.name} exited: {self.log_tail(m)}")
            if all(m.healthy() for m in members):
                return
            time.sleep(0.1)
        raise RuntimeError(f"etcd members {[m.name for m in members]} not healthy in time")

    def log_tail(self, m: Member) -> str:
        path = self.root / f"{m.name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill(self, m: Member) -> None:
        """SIGKILL the member by pid and reap it."""
        assert m.proc is not None
        m.proc.send_signal(signal.SIGKILL)
        m.proc.wait(timeout=10)

    def restart(self, m: Member, timeout_s: float = 20.0) -> None:
        """Start a stopped member again on the same data dir, rejoining the cluster."""
        assert not m.running()
        self._spawn(m, "existing")
        self.wait_healthy([m], timeout_s)

    def stop(self) -> None:
        """SIGKILL every running member by pid and reap it: test data is disposable, and a
        SIGTERMed member that lost quorum can linger for seconds."""
        for m in self.members:
            if m.running():
                self.kill(m)

    def get(self, key: str) -> bytes | None:
        """Read one key from the first member that answers (None: no such key)."""
        last: Exception | None = None
        for m in self.members:
            if not m.running():
                continue
            try:
                return etcd_get(m.gateway, key)
            except (OSError, ValueError) as exc:  # down or no leader: try the next member
                last = exc
        raise RuntimeError(f"no etcd member answered: {last}")


@dataclass(frozen=True)
class Gateway:
    """How to reach an etcd's JSON gateway: its URL, plus the TLS context an etcd with
    client TLS needs."""

    url: str
    context: ssl.SSLContext | None = None

    def post(self, path: str, body: dict[str, Any], timeout_s: float = 2.0) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout_s, context=self.context) as r:
            return json.loads(r.read())


def tls_context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _gateway(where: str | Gateway) -> Gateway:
    return where if isinstance(where, Gateway) else Gateway(where)


def etcd_get(where: str | Gateway, key: str, timeout_s: float = 2.0) -> bytes | None:
    """Read one key from the etcd at `where` (None: no such key); OSError if it is down.

    Through etcd's JSON gateway (`/v3/kv/range`), not a gRPC client: the test process
    forks etcd and server children, and forking while gRPC threads run is unsafe.
    (`etcdctl` is not installed with Debian's `etcd-server`.)
    """
    got = _gateway(where).post("/v3/kv/range", {"key": base64.b64encode(key.encode()).decode()},
                               timeout_s)
    kvs = got.get("kvs") or []
    return base64.b64decode(kvs[0].get("value", "")) if kvs else None
