"""The cluster's certificates: the CA, node, server and admin certificates, join tokens.

Pure functions over bytes (no I/O). Roles are in the certificate's OU, and a role counts
only in a certificate issued by the cluster CA (`peer_identity` checks the issuer):

- `dockyard-node`: an agent; CN is the node name.
- `dockyard-admin`: the CLI's admin credential.
- `dockyard-server`: a control-plane replica; SAN `dockyard-server` (what clients verify,
  as Swarm's managers carry `swarm-manager`), plus its hostname and addresses.

Joining (see `docs/security.md`): the join token `dyt1-<ca-sha256>-<secret>` names the CA
(so the agent trusts the right server without trust on first use) and carries a secret
from which both sides derive the same "join key". The server trusts a self-signed join
root made from that key; an agent with the token signs itself a short join certificate
with it, and that certificate is good for exactly one thing: Register with a CSR.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dockyard.common.jointoken import JOIN_ROOT_CN, TOKEN_PREFIX, join_key

SERVER_NAME = "dockyard-server"
OU_NODE = "dockyard-node"
OU_ADMIN = "dockyard-admin"
OU_SERVER = "dockyard-server"
# Node names that could be mistaken for another role are refused at register.
RESERVED_NAMES = frozenset({SERVER_NAME, "admin", JOIN_ROOT_CN, "localhost"})
_FAR_PAST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


class PkiError(Exception):
    """A certificate or request that cannot be used, in one line."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@functools.lru_cache(maxsize=4)
def _ca_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The CA key parsed once, not twice for every certificate signed (a thousand nodes
    joining at once are a thousand certificates)."""
    return load_key(pem)


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError("not an EC private key")
    return key


def load_cert(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise PkiError(f"bad certificate: {exc}") from None


def ca_digest(ca_cert_pem: bytes) -> str:
    """The sha256 of the CA certificate (DER), in hex: what a join token names."""
    der = load_cert(ca_cert_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class ClusterCA:
    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return load_cert(self.cert_pem)

    @property
    def digest(self) -> str:
        return ca_digest(self.cert_pem)


def create_ca(*, years: int = 10, title: str = "dockyard cluster CA") -> ClusterCA:
    key = new_key()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dockyard"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{title} {secrets.token_hex(4)}"),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return ClusterCA(cert_pem(cert), key_pem(key))


def issue(
    ca: ClusterCA,
    public_key: ec.EllipticCurvePublicKey,
    *,
    cn: str,
    ou: str,
    valid_s: float,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    server: bool = False,
    client_too: bool = False,
) -> bytes:
    """A certificate for `public_key` signed by the CA, as PEM. A server certificate
    with `client_too` may also act as a client (an etcd member dials its peers and its
    own gateway with it)."""
    now = _now()
    ca_cert = ca.cert
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dockyard"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server and client_too:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
        .public_key(public_key).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(seconds=valid_s), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            _ca_key(ca.key_pem).public_key()), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dict.fromkeys(dns) if d]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in dict.fromkeys(ips) if i]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return cert_pem(builder.sign(_ca_key(ca.key_pem), hashes.SHA256()))


def csr_key_sha256(csr_pem: bytes) -> str:
    """The sha256 (hex) of the public key a CSR carries, DER SubjectPublicKeyInfo."""
    try:
        key = x509.load_pem_x509_csr(csr_pem).public_key()
    except ValueError as exc:
        raise PkiError(f"bad certificate request: {exc}") from None
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_node_csr(ca: ClusterCA, csr_pem: bytes, node: str, *, valid_s: float) -> bytes:
    """A node certificate for the key in the CSR. Only the key is taken from the CSR: the
    name is the one the caller authenticated, never what the CSR asks for."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise PkiError(f"bad certificate request: {exc}") from None
    if not csr.is_signature_valid:
        raise PkiError("the certificate request's signature is invalid")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise PkiError("the certificate request must carry an EC key")
    return issue(ca, key, cn=node, ou=OU_NODE, dns=(node,), valid_s=valid_s)


def issue_with_key(ca: ClusterCA, *, cn: str, ou: str, valid_s: float,
                   dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
                   server: bool = False, client_too: bool = False) -> tuple[bytes, bytes]:
    """A fresh key and its certificate: (cert PEM, key PEM)."""
    key = new_key()
    cert = issue(ca, key.public_key(), cn=cn, ou=ou, valid_s=valid_s, dns=dns, ips=ips,
                 server=server, client_too=client_too)
    return cert, key_pem(key)


def admin_bundle(ca: ClusterCA, *, valid_s: float = 10 * 365 * 86400) -> str:
    """The admin credential file: certificate, key and CA certificate, in one PEM file."""
    cert, key = issue_with_key(ca, cn="admin", ou=OU_ADMIN, valid_s=valid_s)
    return "\n".join(p.decode().strip() for p in (cert, key, ca.cert_pem)) + "\n"


# --- join tokens (their shape and key: common/jointoken.py) -------------------------------


def make_token(ca: ClusterCA, secret: str | None = None) -> str:
    """`dyt1-<ca sha256>-<secret>`; never starts with '-', so flags parse it."""
    return f"{TOKEN_PREFIX}-{ca.digest}-{secret or secrets.token_hex(20)}"


def join_root(secret: str) -> bytes:
    """The self-signed root the server trusts for join certificates, as PEM."""
    key = join_key(secret)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, JOIN_ROOT_CN)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(_FAR_PAST).not_valid_after(_FAR_FUTURE)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert_pem(cert)


# --- who is calling -----------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A verified caller: role is "node", "admin", "server", "join" or "" (none)."""

    role: str
    name: str


def peer_identity(peer_cert_pem: bytes, ca_subject: x509.Name) -> Peer:
    """Who a TLS-verified peer certificate says it is. Roles count only when the CA issued
    it; a certificate from the join root is a joiner, whatever else it claims."""
    cert = load_cert(peer_cert_pem)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    if cert.issuer == ca_subject:
        ous = {str(a.value) for a in
               cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)}
        for ou, role in ((OU_NODE, "node"), (OU_ADMIN, "admin"), (OU_SERVER, "server")):
            if ou in ous:
                return Peer(role, cn)
        return Peer("", cn)
    issuer_cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    if issuer_cn and issuer_cn[0].value == JOIN_ROOT_CN:
        return Peer("join", cn)
    return Peer("", cn)


def remaining_s(cert_pem_bytes: bytes) -> float:
    cert = load_cert(cert_pem_bytes)
    return (cert.not_valid_after_utc - _now()).total_seconds()
