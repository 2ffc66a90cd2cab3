"""Console login tokens: made by `dockyard console-token`, checked by every replica. Pure.

A token is `dyc1.<expiry, unix s>.<nonce>.<HMAC-SHA256>`, the MAC keyed with a key
derived (HKDF) from the cluster CA's private key. Every control-plane replica holds that
key in memory, so a token made through one replica logs in on any other, and nobody
without the CA key (agents, the browser) can make one. A token carries no state on the
server: it is valid until its expiry, which is why lifetimes are short (12 h by default,
7 days at most).

The admin credential, presented as a TLS client certificate on the HTTP port
(`server --http-tls`), logs in too; `controlplane/console/web.py` checks that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "dyc1"
DEFAULT_TTL_S = 12 * 3600
MAX_TTL_S = 7 * 86400
COOKIE = "dockyard_console"
_SHAPE = re.compile(r"^dyc1\.(\d{1,12})\.([0-9a-f]{16,64})\.([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Access:
    """What `Control.ConsoleToken` needs: the token key and where the console is served."""

    key: bytes
    http_listen: str = ""
    https: bool = False


def console_key(ca_key_pem: bytes) -> bytes:
    """The HMAC key for console tokens, derived from the CA key. Pure."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"dockyard console token v1").derive(ca_key_pem)


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def ttl_problem(ttl_s: int) -> str | None:
    """Why a requested lifetime is refused, or None. Pure."""
    if not 60 <= ttl_s <= MAX_TTL_S:
        return f"a console token lives 60 s to {MAX_TTL_S // 86400} days, not {ttl_s} s"
    return None


def make_token(key: bytes, *, now_s: int, ttl_s: int, nonce: str) -> str:
    """A token valid until now_s + ttl_s. `nonce` is hex (16-64 digits). Pure."""
    body = f"{PREFIX}.{now_s + ttl_s}.{nonce}"
    return f"{body}.{_mac(key, body)}"


def token_expiry(token: str) -> int:
    """The expiry (unix s) written in a well-formed token, else 0. Pure; no check."""
    m = _SHAPE.match(token)
    return int(m.group(1)) if m else 0


def token_problem(token: str, key: bytes, *, now_s: int) -> str | None:
    """Why `token` does not log in, in one line, or None when it does. Pure."""
    m = _SHAPE.match(token.strip())
    if not m:
        return "not a console token (make one with: dockyard console-token)"
    body = token.strip().rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(key, body), m.group(3)):
        return "this console token was not made by this cluster"
    if int(m.group(1)) <= now_s:
        return "this console token has expired (make a new one with: dockyard console-token)"
    return None
