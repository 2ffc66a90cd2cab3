"""The join token's shape and the join key, written once for the server and the agent.

A join token is `dyt1-<sha256 of the CA certificate>-<secret>`. Both sides derive the
same EC key from the secret: the server trusts the self-signed join root made from it,
and an agent signs its short join certificate with it (see docs/security.md). A secret
must be hard to guess, because anyone holding it may ask to join. Pure functions.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec

TOKEN_PREFIX = "dyt1"
JOIN_ROOT_CN = "dockyard-join"
# A generated secret is 40 hex digits (160 bits); a secret given by hand needs at least
# 32 characters with some variety, so "a" or "aaaa..." cannot become a cluster's token.
MIN_SECRET_CHARS = 32
MIN_DISTINCT_CHARS = 8
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def split_token(token: str) -> tuple[str | None, str]:
    """(CA digest or None, secret). A token not in the `dyt1-` form is all secret. Pure."""
    parts = token.strip().split("-", 2)
    if len(parts) == 3 and parts[0] == TOKEN_PREFIX and len(parts[1]) == 64:
        return parts[1], parts[2]
    return None, token.strip()


def weakness(secret: str) -> str | None:
    """Why `secret` is too weak to be a join token's secret, or None. Pure."""
    if len(secret) < MIN_SECRET_CHARS:
        return (f"the join token's secret has {len(secret)} characters; it needs at least "
                f"{MIN_SECRET_CHARS} (leave --join-token out and the server makes one)")
    if len(set(secret)) < MIN_DISTINCT_CHARS:
        return (f"the join token's secret uses fewer than {MIN_DISTINCT_CHARS} different "
                "characters (leave --join-token out and the server makes one)")
    return None


def join_key(secret: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key both sides derive from the token's secret. Pure (deterministic)."""
    digest = hashlib.sha256(b"dockyard-join\0" + secret.encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())
