"""How a server that sheds a call tells its caller when to come back.

A server behind on its work refuses a call at once (RESOURCE_EXHAUSTED) rather than
queue it past the caller's deadline; the refusal carries, in its trailing metadata, how
many milliseconds the caller should wait before sending it again. One key, read by the
agent (agent/backoff.py) and set by the control plane (controlplane/api/sessions.py).
"""

from __future__ import annotations

from collections.abc import Iterable

RETRY_AFTER_KEY = "dockyard-retry-after-ms"


def retry_after_metadata(wait_s: float) -> tuple[tuple[str, str], ...]:
    """The trailing metadata asking the caller to wait `wait_s` seconds. Pure."""
    return ((RETRY_AFTER_KEY, str(max(0, round(wait_s * 1000)))),)


def retry_after_s(metadata: Iterable[tuple[str, str | bytes]] | None) -> float:
    """The wait a refusal's trailing metadata asks for, in seconds; 0 when it asks for
    none or the value is not a number of milliseconds. Pure."""
    for key, value in metadata or ():
        if key == RETRY_AFTER_KEY:
            try:
                return max(0.0, float(value) / 1000)
            except (TypeError, ValueError):
                return 0.0
    return 0.0
