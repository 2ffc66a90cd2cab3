"""The sessions this replica holds (one per node at most), and when each node was last
heard from here.

Register opens sessions (controlplane/api/certificates.py), the Sessions service serves
them (controlplane/api/sessions.py), the failure detector (controlplane/liveness.py)
ends them, and the Control API asks only `last_heartbeat_ms`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.controlplane.store import typed


@dataclass
class OpenSession:
    node: str
    lease_id: int
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SessionRegistry:
    """The sessions this replica holds, and when each node was last heard from here.

    Register opens sessions, the Sessions service serves them, and the Control API asks
    only `last_heartbeat_ms`: nobody else reaches into the maps.
    """

    def __init__(self) -> None:
        self._open: dict[str, OpenSession] = {}
        self._by_node: dict[str, str] = {}  # node -> its open session's id
        self._heard_ms: dict[str, int] = {}

    def open(self, node: str, lease_id: int, session_id: str = "") -> str:
        """A new session for `node` (with `session_id`, or a new id); an older one of
        the same node ends (its stream returns). Returns the session id."""
        old_id = self._by_node.pop(node, None)
        if old_id is not None:
            self.close(old_id)
        session_id = session_id or new_session_id()
        self._open[session_id] = OpenSession(node, lease_id)
        self._by_node[node] = session_id
        self.heard(node)
        return session_id

    def get(self, node: str, session_id: str) -> OpenSession | None:
        s = self._open.get(session_id)
        return s if s is not None and s.node == node else None

    def is_open(self, session_id: str) -> bool:
        return session_id in self._open

    def close(self, session_id: str) -> None:
        s = self._open.pop(session_id, None)
        if s is not None:
            s.changed.set()
            if self._by_node.get(s.node) == session_id:
                del self._by_node[s.node]

    def wake_all(self) -> None:
        for s in self._open.values():
            s.changed.set()

    def wake(self, nodes: Iterable[str]) -> None:
        """Wake the sessions of `nodes` held here (others are held elsewhere, or none)."""
        for node in nodes:
            sid = self._by_node.get(node)
            if sid is not None:
                self._open[sid].changed.set()

    def heard(self, node: str) -> None:
        self._heard_ms[node] = typed.now_ms()

    def forget(self, node: str) -> None:
        self._heard_ms.pop(node, None)

    def last_heartbeat_ms(self, node: str) -> int:
        """Unix ms of `node`'s last heartbeat on this replica; 0 if none."""
        return self._heard_ms.get(node, 0)


def new_session_id() -> str:
    return secrets.token_hex(8)
