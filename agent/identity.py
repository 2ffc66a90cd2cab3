"""The agent's identity: its key, its node certificate, and the cluster CA it trusts.

The key is made here and never leaves the node: the control plane gets a CSR. To join,
the agent derives the join key from the token's secret (as the server does, see
controlplane/security/pki.py), signs itself a short join certificate with it, and checks
that the server's chain holds the CA the token names (`dyt1-<ca sha256>-<secret>`), so it
never trusts whichever server answers first. A token without a CA digest falls back to
trusting the CA the server shows (logged as a warning).
"""

from __future__ import annotations

import _ssl  # the chain accessor is private until Python 3.13
import asyncio
import datetime as dt
import hashlib
import logging
import os
import re
import socket
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dockyard.common.jointoken import JOIN_ROOT_CN, join_key, split_token

log = logging.getLogger("dockyard.agent")

SERVER_NAME = "dockyard-server"  # the SAN every control-plane replica's certificate has
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
CHANNEL_OPTIONS = (("grpc.ssl_target_name_override", SERVER_NAME),)


class TokenRefused(Exception):
    """The server refused the join token, or it is not the cluster the token names."""


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def join_certificate(secret: str, node: str) -> tuple[bytes, bytes]:
    """A short certificate for a throwaway key, signed with the join key: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, JOIN_ROOT_CN)]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(minutes=10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(join_key(secret), hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def refused_by(reason: str) -> bool:
    """Whether a TLS error reason (an OpenSSL reason code, e.g. TLSV1_ALERT_UNKNOWN_CA)
    means the server refused our certificate, rather than a slow or broken link. Pure."""
    return "ALERT" in reason.upper()


def probe(address: str, cert: bytes, key: bytes, *, timeout_s: float = 5.0) -> tuple[
        list[bytes], bool, str]:
    """One TLS handshake with the join certificate, without verifying the server yet:
    (the server's chain as DER, whether it accepted our certificate, why not). A server
    that cannot be reached, is too slow or breaks the link raises ConnectionError: only
    a TLS alert counts as a refusal."""
    host, _, port = address.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "join.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(cert + key)
        ctx.load_cert_chain(path)
    try:
        raw = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s)
    except OSError as exc:
        raise ConnectionError(f"cannot reach {address}: {exc.strerror or exc}") from None
    try:
        with ctx.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
            ders = _chain(tls)
            try:
                tls.sendall(_H2_PREFACE)
                got = tls.recv(1)
            except ssl.SSLError as exc:
                if refused_by(exc.reason or ""):
                    return ders, False, exc.reason or str(exc)
                raise
            return ders, bool(got), "" if got else "the server closed the connection"
    except ssl.SSLError as exc:
        if refused_by(exc.reason or ""):
            return [], False, exc.reason or str(exc)
        raise ConnectionError(f"TLS with {address} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise ConnectionError(f"{address} did not complete the TLS handshake within "
                              f"{timeout_s:g}s") from None
    except OSError as exc:
        raise ConnectionError(f"TLS with {address} failed: {exc.strerror or exc}") from None
    finally:
        raw.close()


def _chain(tls: ssl.SSLSocket) -> list[bytes]:
    sslobj: Any = getattr(tls, "_sslobj", None)
    chain = list(sslobj.get_unverified_chain() or []) if sslobj is not None else []
    return [c.public_bytes(_ssl.ENCODING_DER) if hasattr(c, "public_bytes") else bytes(c)
            for c in chain]


def trusted_ca(address: str, token: str, node: str,
               join: tuple[bytes, bytes] | None = None) -> bytes:
    """The CA certificate (PEM) to trust for `address`, checked against the token with
    the join certificate `join` (cert, key; a new one if None); raises TokenRefused when
    the server refuses the token or is another cluster, and ConnectionError when it
    cannot tell (unreachable, slow, a broken link)."""
    digest, secret = split_token(token)
    cert, key = join or join_certificate(secret, node)
    ders, accepted, why = probe(address, cert, key)
    if not ders:
        if not accepted and why:
            raise TokenRefused(f"join refused by {address}: invalid join token ({why})")
        raise ConnectionError(f"{address} showed no certificate")
    if digest is not None:
        found = [d for d in ders if hashlib.sha256(d).hexdigest() == digest]
        if not found:
            raise TokenRefused(f"the server at {address} is not the cluster the join token "
                               "names (its CA does not match)")
        ca_der = found[0]
    else:
        ca_der = ders[-1]
        log.warning("the join token names no CA: trusting the CA %s shows",
                    address)
    if not accepted:
        raise TokenRefused(f"join refused by {address}: invalid join token ({why})")
    return ssl.DER_cert_to_PEM_cert(ca_der).encode()


class CheckedCas:
    """The CA each control-plane address was checked to serve for a join token, kept
    for this process: hollow nodes (many agents to a process) that join through the
    same address with the same token share one check instead of one TLS handshake
    each, and nodes that join together wait for the one check under way rather than
    each starting its own (a hundred nodes starting at once were a hundred probes). A
    real agent is one node to a process, so it checks once as before. Only a token that
    names its CA is kept or shared, and a join that fails forgets the check, so the
    next attempt asks the server again (a token rotated meanwhile is refused then)."""

    def __init__(self) -> None:
        self._cas: dict[tuple[str, str], bytes] = {}
        self._checking: dict[tuple[str, str], asyncio.Future[bytes]] = {}

    def get(self, address: str, token: str) -> bytes | None:
        return self._cas.get((address, token))

    def keep(self, address: str, token: str, ca: bytes) -> None:
        if split_token(token)[0] is not None:
            self._cas[(address, token)] = ca

    def forget(self, address: str, token: str) -> None:
        self._cas.pop((address, token), None)

    async def check(self, address: str, token: str,
                    run: Callable[[], Awaitable[bytes]]) -> bytes:
        """The CA for `address` and `token`: the kept one, else the result of the check
        another join of this process has under way (its refusal or failure too), else
        what `run` checks now, kept for the next joins."""
        key = (address, token)
        if (ca := self._cas.get(key)) is not None:
            return ca
        if split_token(token)[0] is None:
            return await run()  # a token naming no CA: each join checks for itself
        pending = self._checking.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        shared: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        shared.add_done_callback(_retrieved)
        self._checking[key] = shared
        try:
            ca = await run()
        except asyncio.CancelledError:
            shared.set_exception(ConnectionError(f"the check of {address} was cancelled"))
            raise
        except Exception as exc:
            shared.set_exception(exc)
            raise
        finally:
            del self._checking[key]
        self.keep(address, token, ca)
        shared.set_result(ca)
        return ca


def _retrieved(fut: asyncio.Future[bytes]) -> None:
    """Mark a shared check's failure as seen (no join may be waiting for it)."""
    if not fut.cancelled():
        fut.exception()


CHECKED = CheckedCas()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Identity:
    """What this agent presents and trusts. `cert` is empty until it has joined."""

    node: str
    key: ec.EllipticCurvePrivateKey
    cert: bytes = b""
    ca: bytes = b""
    received: float = 0.0  # time.time() when `cert` arrived
    # `cert`'s expiry, read once when it arrives: each join and session asked for it
    # two or three times, and parsing the certificate each time was a few percent of a
    # hollow process's time in a 1,000-node join.
    _expires: tuple[bytes, float] | None = field(default=None, repr=False, compare=False)

    def adopt(self, cert: bytes, ca: bytes, key: ec.EllipticCurvePrivateKey | None = None
              ) -> None:
        self.cert, self.ca, self.received = cert, ca or self.ca, time.time()
        if key is not None:
            self.key = key

    @classmethod
    def fresh(cls, node: str) -> Identity:
        return cls(node, ec.generate_private_key(ec.SECP256R1()))

    def csr(self, key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
        req = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.node)]))
            .sign(key or self.key, hashes.SHA256())
        )
        return req.public_bytes(serialization.Encoding.PEM)

    def expires(self) -> float:
        if self._expires is None or self._expires[0] != self.cert:
            c = x509.load_pem_x509_certificate(self.cert)
            self._expires = (self.cert, c.not_valid_after_utc.timestamp())
        return self._expires[1]

    def renew_in(self) -> float:
        """Seconds until renewal is due: at 2/3 of the time the certificate had left when
        it arrived (its backdated start does not count)."""
        return max(0.0, self.received + (self.expires() - self.received) * 2 / 3 - time.time())

    def usable(self) -> bool:
        return bool(self.cert) and self.expires() > time.time() + 1

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.ca, _pem_key(self.key), self.cert)

    def ca_digest(self) -> str:
        """The sha256 of the trusted CA certificate (DER), as a join token names it."""
        der = x509.load_pem_x509_certificate(self.ca).public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()

    def save(self, path: Path) -> None:
        """Keep the certificate, key and CA (mode 0600) so a restarted agent is the same
        node without the join token: the server refuses a second join under a name that
        exists. Written to a new file and renamed, so a crash leaves the old one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.cert + _pem_key(self.key) + self.ca)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, node: str) -> Identity | None:
        """The identity `save` kept for `node`, if it is there, readable and still valid."""
        try:
            text = path.read_bytes()
        except OSError:
            return None
        blocks = _pem_blocks(text)
        certs = [b for kind, b in blocks if kind == b"CERTIFICATE"]
        keys = [b for kind, b in blocks if kind.endswith(b"PRIVATE KEY")]
        if len(certs) != 2 or len(keys) != 1:
            return None
        try:
            key = serialization.load_pem_private_key(keys[0], password=None)
            cert = x509.load_pem_x509_certificate(certs[0])
        except ValueError:
            return None
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not cns or cns[0].value != node:
            return None
        found = cls(node, key)
        found.adopt(certs[0], certs[1])
        return found if found.usable() else None


_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)


def _pem_blocks(text: bytes) -> list[tuple[bytes, bytes]]:
    return [(m.group(1), m.group(0)) for m in _PEM.finditer(text)]


def join_credentials(ca: bytes, cert: bytes, key: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(ca, key, cert)
