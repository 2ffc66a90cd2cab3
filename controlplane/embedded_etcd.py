"""The embedded single-member etcd: Debian's `etcd` binary run as a child process.

`dockyard server` without `--etcd` uses it. It listens on loopback only, keeps its data
under the server's data dir, and dies with the server (PR_SET_PDEATHSIG, set by `setpriv`), so a
`kill -9` of the server never leaves an orphan holding the port.

It speaks TLS only, on its client and peer ports, and requires a client certificate
from the etcd CA in DATA_DIR/etcd-tls (`controlplane/security/etcd_certs.py`); after the
first start etcd's authentication is on too (`controlplane/store/auth.py`). So a local
user without the server's files gets neither a TLS session nor, with another
certificate, any key.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.common.childproc import with_parent_death
from dockyard.controlplane.security.etcd_certs import CLIENT_USER, EtcdFiles, ensure_files
from dockyard.controlplane.store.auth import enable_auth
from dockyard.controlplane.store.client import ClientTls
from dockyard.controlplane.store.etcd import EtcdStore


@dataclass(frozen=True, slots=True)
class MemberTls:
    """TLS files of one etcd member: its certificate and key, and the CA its clients'
    (or peers') certificates must come from."""

    cert: Path
    key: Path
    ca: Path

    def flags(self, prefix: str = "") -> list[str]:
        """etcd's flags for client TLS (`prefix` "") or peer TLS ("peer-"). Pure."""
        return [f"--{prefix}cert-file", str(self.cert), f"--{prefix}key-file", str(self.key),
                f"--{prefix}trusted-ca-file", str(self.ca), f"--{prefix}client-cert-auth"]


def client_tls(data_dir: Path) -> ClientTls | None:
    """The control plane's client TLS for the embedded etcd under `data_dir`, if made."""
    files = EtcdFiles.under(data_dir)
    try:
        return ClientTls.from_files(files.ca, files.client, files.client_key)
    except ValueError:
        return None


def member_argv(
    *,
    binary: str,
    name: str,
    data_dir: Path,
    client_url: str,
    peer_url: str,
    initial_cluster: str = "",
    state: str = "new",
    token: str = "",
    client_tls: MemberTls | None = None,
    peer_tls: MemberTls | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of one etcd member; alone in its cluster unless `initial_cluster`
    names the others. With `client_tls` (`peer_tls`) its client (peer) port speaks TLS
    only and requires a client certificate from that CA; the URLs must then be https.
    Pure. The embedded etcd, the testbed's external cluster and the HA tests all start
    their members through it."""
    argv = [
        binary,
        "--name", name,
        "--data-dir", str(data_dir),
        "--listen-client-urls", client_url,
        "--advertise-client-urls", client_url,
        "--listen-peer-urls", peer_url,
        "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", initial_cluster or f"{name}={peer_url}",
        "--initial-cluster-state", state,
    ]
    if token:
        argv += ["--initial-cluster-token", token]
    if client_tls is not None:
        argv += client_tls.flags()
    if peer_tls is not None:
        argv += peer_tls.flags("peer-")
    return [*argv, *extra, "--log-level", "warn"]


def etcd_argv(*, binary: str, data_dir: Path, client_port: int, peer_port: int,
              files: EtcdFiles) -> list[str]:
    """The command line for the embedded single loopback-only member, TLS on both ports
    with the certificates in `files`. Pure."""
    tls = MemberTls(cert=files.server, key=files.server_key, ca=files.ca)
    return member_argv(
        binary=binary,
        name="dockyard",
        data_dir=data_dir,
        client_url=f"https://127.0.0.1:{client_port}",
        peer_url=f"https://127.0.0.1:{peer_port}",
        client_tls=tls,
        peer_tls=tls,
        extra=(
            "--quota-backend-bytes", str(2 * 1024**3),
            "--auto-compaction-mode", "revision",
            "--auto-compaction-retention", "10000",
        ),
    )


class EmbeddedEtcd:
    """A child etcd process. `start` returns its client URL once it is spawned."""

    def __init__(self, *, data_dir: Path, client_port: int, peer_port: int,
                 files: EtcdFiles) -> None:
        self.data_dir = data_dir
        self.client_port = client_port
        self.peer_port = peer_port
        self.files = files
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    @property
    def client_tls(self) -> ClientTls:
        """What the control plane dials this etcd with (after `start`)."""
        return ClientTls.from_files(self.files.ca, self.files.client, self.files.client_key)

    async def secure(self, store: EtcdStore) -> None:
        """Turn etcd's authentication on, if it is not yet (`store` is connected)."""
        password = self.files.root_password.read_text().strip()
        await enable_auth(store.client, user=CLIENT_USER, root_password=password)

    def start(self) -> str:
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError(
                "the embedded etcd needs the `etcd` binary (apt-get install etcd-server), "
                "or pass --etcd URL"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_files(self.files)
        log = open(self.data_dir.parent / "etcd.log", "ab")  # noqa: SIM115 - child owns it
        argv = etcd_argv(
            binary=binary,
            data_dir=self.data_dir,
            client_port=self.client_port,
            peer_port=self.peer_port,
            files=self.files,
        )
        self._proc = subprocess.Popen(
            with_parent_death(argv, "TERM"), stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        return self.url

    def exited(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def why_exited(self) -> str:
        """The last line etcd logged, to say why it exited (one line)."""
        try:
            lines = (self.data_dir.parent / "etcd.log").read_text(errors="replace").splitlines()
        except OSError:
            return f"code {self.exited()}"
        return lines[-1].strip() if lines else f"code {self.exited()}"

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """SIGTERM, wait up to `grace_s`, then SIGKILL (and wait up to 2 s more). Never
        blocks the event loop, so a bounded caller can cut it short."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while proc.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            deadline = loop.time() + 2.0
            while proc.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the child if it still runs (a stopped etcd too: SIGKILL ends even a
        SIGSTOPped process). Synchronous: the stop's last resort, and its watchdog's."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
