"""Requests that ride a node's session stream: queued here until the session sends them.

Why: agents dial the control plane, never the reverse, so whatever the control plane asks
of a node (a log subscription, a build) waits in a per-node outbox, and the session is
woken to send it. The log broker and the build broker share this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SessionOutbox(Generic[T]):
    """Per node: the wake function of the session this replica holds, and what waits."""

    def __init__(self) -> None:
        self._outbox: dict[str, list[T]] = defaultdict(list)
        self._wake: dict[str, Callable[[], None]] = {}

    def attach(self, node: str, wake: Callable[[], None]) -> None:
        """A session for `node` is open here; `wake` makes it send what is queued."""
        self._wake[node] = wake

    def detach(self, node: str, wake: Callable[[], None]) -> None:
        if self._wake.get(node) is wake:
            del self._wake[node]

    def reachable(self, node: str) -> bool:
        return node in self._wake

    def send(self, node: str, item: T) -> None:
        """Queue `item` for `node`'s session and wake it (the node must be reachable)."""
        self._outbox[node].append(item)
        self._wake[node]()

    def outgoing(self, node: str) -> list[T]:
        """What to send on `node`'s session now."""
        return self._outbox.pop(node, [])
