"""A real control plane on loopback: `dockyard server` as a process with its embedded etcd,
and the real CLI run as a process against it."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockyard.controlplane.embedded_etcd import client_tls
from dockyard.controlplane.store.client import ClientTls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose successor is free too: the embedded etcd's client and peer
    ports. (Other tests on the machine may take either before etcd binds; this only
    narrows the window.)"""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    return free_port()


@dataclass
class ServerProcess:
    data_dir: Path
    grpc_port: int
    http_port: int
    etcd_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "dockyard.cli", "server",
            "--data-dir", str(self.data_dir),
            "--listen", self.address,
            "--http-listen", f"127.0.0.1:{self.http_port}",
            "--etcd-port", str(self.etcd_port),
        ]

    @property
    def credentials(self) -> Path:
        """The admin credential the server writes on its first start."""
        return self.data_dir / "admin.pem"

    @property
    def home(self) -> Path:
        """The server process's HOME: its ~/.dockyard/admin.pem copy lands here."""
        return self.data_dir.parent / "home"

    def start(self, *extra: str) -> None:
        log = open(self.data_dir.parent / "server.log", "ab")  # noqa: SIM115
        env = {**os.environ, "HOME": str(self.home)}
        self.proc = subprocess.Popen([*self.argv(), *extra], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        https = "--http-tls" in extra
        unverified = ssl._create_unverified_context() if https else None  # a probe only
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(
                    f"http{'s' if https else ''}://127.0.0.1:{self.http_port}/healthz",
                    timeout=1, context=unverified,
                ) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_text()[-2000:]

    def log_text(self) -> str:
        """Everything the server process wrote to its log so far."""
        path = self.data_dir.parent / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


def wait_port_free(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)


def run_cli(server: ServerProcess, *args: str, check: bool = True,
            credentials: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI against `server`, with its admin credential unless another is given."""
    env = {**os.environ, "DOCKYARD_SERVER": server.address,
           "DOCKYARD_CREDENTIALS": str(credentials or server.credentials)}
    out = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"dockyard {' '.join(args)} failed: {out.stderr}")
    return out


def embedded_etcd_tls(data_dir: Path) -> ClientTls | None:
    """The client TLS material a server keeps for its embedded etcd (None: none yet)."""
    return client_tls(data_dir)


def dockyard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with `env`; AssertionError with its stderr if it fails."""
    out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"dockyard {' '.join(args)}: {out.stderr}"
    return out


@contextmanager
def hollow_cluster(root: Path, nodes: int) -> Iterator[dict[str, str]]:
    """`dockyard dev-cluster up --hollow NODES` kept under `root`: the environment the
    CLI then talks to it with. Taken down with `--hollow` at the end, so never the e2e
    testbed that may run beside this suite."""
    env = {**os.environ, "DOCKYARD_HOLLOW_DIR": str(root / "hollow"), "HOME": str(root / "home")}
    try:
        up = dockyard(env, "dev-cluster", "up", "--hollow", str(nodes))
        exports = up.stdout.strip().splitlines()[-1].removeprefix("export ").split()
        yield {**env, **dict(kv.split("=", 1) for kv in exports)}
    finally:
        subprocess.run([sys.executable, "-m", "dockyard.cli", "dev-cluster", "down", "--hollow"],
                       env=env, capture_output=True, timeout=120)
