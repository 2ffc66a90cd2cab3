"""TLS material for the embedded etcd, kept on the server's disk: DATA_DIR/etcd-tls/.

Why on disk and why a CA of its own (docs/security.md, "etcd"): the cluster CA lives in
etcd, so it cannot be what the server needs before it can reach etcd; and the cluster CA
signs node certificates whose common name a joining agent picks, while etcd takes the
user name from a client certificate's common name. A node named like an etcd user would
then be that user. So the first start makes a separate *etcd CA* here, which signs only
two certificates: etcd's server certificate (127.0.0.1, localhost) and the control
plane's client certificate (CN = CLIENT_USER, the one etcd user it acts as). Its key
never leaves this directory. Every file is mode 0600, the directory 0700.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dockyard.controlplane.security import pki

TLS_DIR = "etcd-tls"
CLIENT_USER = "dockyard"
ETCD_NAME = "dockyard-etcd"
VALID_S = 10 * 365 * 86400.0
RENEW_BEFORE_S = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class EtcdFiles:
    """Where the embedded etcd's TLS material lives under a data dir."""

    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> EtcdFiles:
        return cls(data_dir / TLS_DIR)

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca-key.pem"

    @property
    def server(self) -> Path:
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server-key.pem"

    @property
    def client(self) -> Path:
        return self.root / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.root / "client-key.pem"

    @property
    def root_password(self) -> Path:
        """etcd's `root` user's password: only for an operator's repairs with etcdctl."""
        return self.root / "root-password"


def ensure_files(files: EtcdFiles) -> None:
    """Make the etcd CA, etcd's server certificate and the client certificate if any is
    missing or expires within RENEW_BEFORE_S; keep them otherwise."""
    files.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(files.root, 0o700)
    try:
        ca = pki.ClusterCA(files.ca.read_bytes(), files.ca_key.read_bytes())
        ca.cert  # noqa: B018 - parses, or raises
    except (OSError, ValueError, pki.PkiError):
        ca = pki.create_ca(title="dockyard etcd CA")
        _write(files.ca_key, ca.key_pem)
        _write(files.ca, ca.cert_pem)
        for stale in (files.server, files.client):
            stale.unlink(missing_ok=True)
    if not _fresh(files.server, ca):
        cert, key = pki.issue_with_key(ca, cn=ETCD_NAME, ou="etcd", valid_s=VALID_S,
                                       dns=("localhost",), ips=("127.0.0.1", "::1"),
                                       server=True, client_too=True)
        _write(files.server_key, key)
        _write(files.server, cert)
    if not _fresh(files.client, ca):
        cert, key = pki.issue_with_key(ca, cn=CLIENT_USER, ou="etcd", valid_s=VALID_S)
        _write(files.client_key, key)
        _write(files.client, cert)
    if not files.root_password.exists():
        _write(files.root_password, secrets.token_urlsafe(32).encode() + b"\n")


def _fresh(path: Path, ca: pki.ClusterCA) -> bool:
    """The certificate at `path` exists, is signed by `ca` and is not about to expire."""
    try:
        pem = path.read_bytes()
        cert = pki.load_cert(pem)
    except (OSError, ValueError, pki.PkiError):
        return False
    return cert.issuer == ca.cert.subject and pki.remaining_s(pem) > RENEW_BEFORE_S


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class ClusterFiles:
    """TLS files for an external etcd cluster that Dockyard itself runs on loopback (the
    testbed's `dev-cluster --etcd-members N`, the HA tests): a CA, a certificate per
    member (127.0.0.1, usable as client too, as members dial their peers and their own
    gateway) and one client certificate for the control-plane replicas, which the
    server's --etcd-cacert/--etcd-cert/--etcd-key name."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.root / "client.pem"

    @property
    def key(self) -> Path:
        return self.root / "client-key.pem"

    def member(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) of member `name`."""
        return self.root / f"{name}.pem", self.root / f"{name}-key.pem"

    def ensure(self, members: list[str]) -> None:
        """Make the CA and every missing certificate; keep what is there (a restarted
        member keeps its certificate)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            ca = pki.ClusterCA(self.ca.read_bytes(), (self.root / "ca-key.pem").read_bytes())
        except OSError:
            ca = pki.create_ca(title="dockyard etcd CA")
            _write(self.root / "ca-key.pem", ca.key_pem)
            _write(self.ca, ca.cert_pem)
        for name in members:
            cert_path, key_path = self.member(name)
            if not _fresh(cert_path, ca):
                cert, key = pki.issue_with_key(ca, cn=name, ou="etcd", valid_s=VALID_S,
                                               dns=("localhost",), ips=("127.0.0.1",),
                                               server=True, client_too=True)
                _write(key_path, key)
                _write(cert_path, cert)
        if not _fresh(self.cert, ca):
            cert, key = pki.issue_with_key(ca, cn=CLIENT_USER, ou="etcd", valid_s=VALID_S)
            _write(self.key, key)
            _write(self.cert, cert)

    def server_flags(self) -> tuple[str, ...]:
        """What `dockyard server` needs to dial this cluster."""
        return ("--etcd-cacert", str(self.ca), "--etcd-cert", str(self.cert),
                "--etcd-key", str(self.key))
