"""The control plane's side of security: the CA and join token in etcd, the TLS credentials
of :7070, who is calling an rpc, and the admin credential file.

The CA certificate and key live in etcd (`/dockyard/cluster/ca-cert`, `ca-key`), which only
control-plane replicas can read, so every replica signs with the same CA. The key is
stored encrypted with a key kept on each replica's disk (`controlplane/security/sealed.py`).
Each replica issues itself a fresh server certificate at start; its key stays in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import socket
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from dockyard.common.jointoken import split_token, weakness
from dockyard.controlplane.security import datakey, pki, sealed
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore

log = logging.getLogger("dockyard.security")

CA_CERT_KEY = keys.cluster_key("ca-cert")
CA_KEY_KEY = keys.cluster_key("ca-key")
TOKEN_KEY = keys.cluster_key("join-token")
SERVER_CERT_S = 365 * 86400.0


async def ensure_ca(store: EtcdStore, kek_path: Path) -> tuple[pki.ClusterCA, bool]:
    """The cluster CA from etcd, or a new one stored now. True when it was made now.

    Its key is kept sealed with the key in `kek_path`; a key stored in the clear by an
    older version is sealed now. SealError (one line) when the key file is missing or
    is not this cluster's while a sealed key exists: never a new key over existing data.
    """
    aad = CA_KEY_KEY.encode()
    for _ in range(5):
        cert = await store.get(CA_CERT_KEY)
        key = await store.get(CA_KEY_KEY)
        if cert is not None and key is not None:
            if sealed.is_sealed(key.value):
                kek = sealed.load_kek(kek_path)
                if kek is None:
                    raise sealed.SealError(
                        f"the cluster CA key in etcd is encrypted and its key file {kek_path} "
                        f"is missing: restore it from a backup or another replica "
                        f"(--kek-file)")
                plain = sealed.unseal(kek, key.value, aad=aad, kek_path=kek_path)
                return pki.ClusterCA(cert.value, plain), False
            kek = sealed.load_kek(kek_path) or await datakey.new_kek(store, kek_path)
            commit = Commit(expect={CA_KEY_KEY: key.mod_revision},
                            puts={CA_KEY_KEY: sealed.seal(kek, key.value, aad=aad)})
            if await store.commit(commit):
                log.info("encrypted the cluster CA key in etcd with the key in %s", kek_path)
                return pki.ClusterCA(cert.value, key.value), False
            continue
        kek = sealed.load_kek(kek_path) or await datakey.new_kek(store, kek_path)
        ca = pki.create_ca()
        commit = Commit(expect={CA_CERT_KEY: 0, CA_KEY_KEY: 0})
        commit.puts[CA_CERT_KEY] = ca.cert_pem
        commit.puts[CA_KEY_KEY] = sealed.seal(kek, ca.key_pem, aad=aad)
        if await store.commit(commit):
            log.info("created the cluster CA (sha256 %s); its key is encrypted with %s",
                     ca.digest, kek_path)
            return ca, True
    raise RuntimeError("the cluster CA kept changing in etcd")


class TokenKeeper:
    """The agents' join token: kept in etcd, mirrored in memory for the TLS layer."""

    def __init__(self, store: EtcdStore, ca: pki.ClusterCA, token_file: Path) -> None:
        self._store = store
        self._ca = ca
        self._file = token_file
        self.token = ""
        self.on_change: Callable[[str], None] = lambda _t: None

    def _set(self, token: str) -> None:
        if token != self.token:
            self.token = token
            _write_private(self._file, token)
            self.on_change(token)

    async def ensure(self, configured: str = "") -> str:
        """From config, else stored, else made now and stored."""
        if configured:
            digest, secret = split_token(configured)
            if digest is not None and digest != self._ca.digest:
                raise ValueError("--join-token names another cluster's CA")
            problem = weakness(secret)
            if problem:
                raise ValueError(f"--join-token refused: {problem}")
            token = pki.make_token(self._ca, secret)
            await self._store.put(TOKEN_KEY, token.encode())
        else:
            entry = await self._store.get(TOKEN_KEY)
            token = entry.value.decode() if entry is not None else ""
            if split_token(token)[0] != self._ca.digest:
                # None yet, or one from before the CA. Replicas starting together race
                # here: the first write wins and the others take the stored token.
                fresh = pki.make_token(self._ca)
                expect = {TOKEN_KEY: entry.mod_revision if entry is not None else 0}
                won = await self._store.commit(
                    Commit(expect=expect, puts={TOKEN_KEY: fresh.encode()}))
                stored = await self._store.get(TOKEN_KEY)
                token = fresh if won or stored is None else stored.value.decode()
        self._set(token)
        return token

    async def rotate(self) -> str:
        token = pki.make_token(self._ca)
        await self._store.put(TOKEN_KEY, token.encode())
        self._set(token)
        log.info("join token rotated")
        return token

    async def follow(self, every_s: float = 2.0) -> None:
        """Pick up a rotation made by another replica."""
        while True:
            await asyncio.sleep(every_s)
            try:
                entry = await self._store.get(TOKEN_KEY)
            except Exception as exc:  # etcd trouble is reported elsewhere; keep the old one
                log.debug("join token refresh: %s", exc)
                continue
            if entry is not None:
                self._set(entry.value.decode())


def server_names(listen: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) for this replica's certificate."""
    host = listen.rpartition(":")[0].strip("[]")
    hostname = socket.gethostname()
    dns = [pki.SERVER_NAME, "localhost", hostname, socket.getfqdn()]
    ips = ["127.0.0.1", "::1"]
    try:
        if not ipaddress.ip_address(host).is_unspecified:
            ips.append(host)
    except ValueError:
        if host:
            dns.append(host)
    with contextlib.suppress(OSError):
        ips += socket.gethostbyname_ex(hostname)[2]
    return tuple(dns), tuple(ips)


class Tls:
    """The :7070 credentials: the replica's certificate, and trust in the CA (everyone with
    a certificate) and in the current join root (agents holding the join token)."""

    def __init__(self, ca: pki.ClusterCA, listen: str) -> None:
        self.ca = ca
        self.ca_subject = ca.cert.subject
        dns, ips = server_names(listen)
        cert, key = pki.issue_with_key(ca, cn=pki.SERVER_NAME, ou=pki.OU_SERVER,
                                       valid_s=SERVER_CERT_S, dns=dns, ips=ips, server=True)
        # The chain carries the CA too, so a joining agent can check it against its token.
        self._pair = (key, cert + ca.cert_pem)
        self._roots = ca.cert_pem
        self._fresh: Any = None

    def set_token(self, token: str) -> None:
        _digest, secret = split_token(token)
        roots = self.ca.cert_pem + pki.join_root(secret)
        self._fresh = grpc.ssl_server_certificate_configuration([self._pair], roots)

    def _fetch(self) -> Any:
        # Called by gRPC before each handshake; None keeps the current configuration.
        fresh, self._fresh = self._fresh, None
        return fresh

    def credentials(self) -> grpc.ServerCredentials:
        initial = self._fresh or grpc.ssl_server_certificate_configuration(
            [self._pair], self._roots)
        self._fresh = None
        return grpc.dynamic_ssl_server_credentials(initial, self._fetch,
                                                   require_client_authentication=True)

    def http_context(self) -> ssl.SSLContext:
        """TLS for the HTTP port (`server --http-tls`): this replica's certificate, and a
        client certificate asked for (not required) and verified against the CA, so the
        admin credential logs in to the console while probes need none."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        key, chain = self._pair
        with tempfile.TemporaryDirectory(prefix="dockyard-http-tls-") as d:
            pem = Path(d) / "pair.pem"
            _write_private(pem, (chain + key).decode())
            context.load_cert_chain(pem)  # the key lives on disk only for this call
        context.load_verify_locations(cadata=self._roots.decode())
        context.verify_mode = ssl.CERT_OPTIONAL
        return context

    # A few thousand nodes (each its own certificate, and its renewed one) stay cached.
    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one Tls per process
    def identify(self, peer_pem: bytes) -> pki.Peer:
        return pki.peer_identity(peer_pem, self.ca_subject)

    def peer(self, context: grpc.aio.ServicerContext) -> pki.Peer:
        pems = (context.auth_context() or {}).get("x509_pem_cert") or []
        if not pems:
            return pki.Peer("", "")
        try:
            return self.identify(bytes(pems[0]))
        except pki.PkiError:
            return pki.Peer("", "")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    os.chmod(path, 0o600)


def default_credentials_path() -> Path:
    return Path.home() / ".dockyard" / "admin.pem"


def write_admin_credentials(ca: pki.ClusterCA, data_dir: Path, *, home: Path | None) -> None:
    """DATA_DIR/admin.pem, unless one from this CA is there; and a copy at `home` (the
    CLI's default, ~/.dockyard/admin.pem) when there is none yet. An existing home copy
    is never overwritten: it may be another cluster's."""
    target = data_dir / "admin.pem"
    if not _from_ca(target, ca):
        bundle = pki.admin_bundle(ca)
        _write_private(target, bundle)
        log.info("wrote the admin credential to %s", target)
    if home is not None:
        if not home.exists():
            try:
                _write_private(home, target.read_text())
                log.info("wrote the admin credential to %s", home)
            except OSError as exc:
                log.warning("cannot write %s: %s", home, exc)
        elif not _from_ca(home, ca):
            log.info("kept %s (another cluster's); this cluster's credential is %s",
                     home, target)


def _from_ca(path: Path, ca: pki.ClusterCA) -> bool:
    try:
        text = path.read_bytes()
    except OSError:
        return False
    return ca.cert_pem.strip() in text
