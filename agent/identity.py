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
import datetime as dt
import hashlib
import logging
import os
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger("dockyard.agent")

SERVER_NAME = "dockyard-server"  # the SAN every control-plane replica's certificate has
JOIN_ROOT_CN = "dockyard-join"
TOKEN_PREFIX = "dyt1"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
CHANNEL_OPTIONS = (("grpc.ssl_target_name_override", SERVER_NAME),)


class TokenRefused(Exception):
    """The server refused the join token, or it is not the cluster the token names."""


def split_token(token: str) -> tuple[str | None, str]:
    """(CA digest or None, secret); the same rule as controlplane.security.pki."""
    parts = token.strip().split("-", 2)
    if len(parts) == 3 and parts[0] == TOKEN_PREFIX and len(parts[1]) == 64:
        return parts[1], parts[2]
    return None, token.strip()


def join_key(secret: str) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(b"dockyard-join\0" + secret.encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


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


def probe(address: str, cert: bytes, key: bytes, *, timeout_s: float = 5.0) -> tuple[
        list[bytes], bool, str]:
    """One TLS handshake with the join certificate, without verifying the server yet:
    (the server's chain as DER, whether it accepted our certificate, why not)."""
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
    with ctx.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
        sslobj: Any = getattr(tls, "_sslobj", None)
        chain = list(sslobj.get_unverified_chain() or []) if sslobj is not None else []
        ders = [c.public_bytes(_ssl.ENCODING_DER) if hasattr(c, "public_bytes") else bytes(c)
                for c in chain]
        try:
            tls.sendall(_H2_PREFACE)
            got = tls.recv(1)
        except ssl.SSLError as exc:
            return ders, False, exc.reason or str(exc)
        except OSError as exc:
            return ders, False, str(exc)
        return ders, bool(got), "" if got else "the server closed the connection"


def trusted_ca(address: str, token: str, node: str) -> bytes:
    """The CA certificate (PEM) to trust for `address`, checked against the token; raises
    TokenRefused when the server refuses the token or is another cluster."""
    digest, secret = split_token(token)
    cert, key = join_certificate(secret, node)
    ders, accepted, why = probe(address, cert, key)
    if not ders:
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
        c = x509.load_pem_x509_certificate(self.cert)
        return c.not_valid_after_utc.timestamp()

    def renew_in(self) -> float:
        """Seconds until renewal is due: at 2/3 of the time the certificate had left when
        it arrived (its backdated start does not count)."""
        return max(0.0, self.received + (self.expires() - self.received) * 2 / 3 - time.time())

    def usable(self) -> bool:
        return bool(self.cert) and self.expires() > time.time() + 1

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.ca, _pem_key(self.key), self.cert)


def join_credentials(ca: bytes, cert: bytes, key: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(ca, key, cert)
