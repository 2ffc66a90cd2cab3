"""ClusterView: an in-memory mirror of the cluster's state in etcd.

The leader's reconcilers and the dispatcher read this mirror instead of etcd, the way
Kubernetes controllers read an informer cache. `ClusterView.apply` is pure bookkeeping;
`Mirror` (below) is the I/O that keeps a view current: one read of everything, then a
watch from the revision that read saw.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from controlplane.store import keys
from controlplane.store.codec import decode
from controlplane.store.etcd import EtcdStore
from dockyard.v1 import objects_pb2

log = logging.getLogger(__name__)

_M = TypeVar("_M", objects_pb2.App, objects_pb2.Service, objects_pb2.Task, objects_pb2.Node)


@dataclass
class ClusterView:
    """Objects by id, each with its version set from the key's mod revision."""

    apps: dict[str, objects_pb2.App] = field(default_factory=dict)
    services: dict[str, objects_pb2.Service] = field(default_factory=dict)  # "app/svc"
    tasks: dict[str, objects_pb2.Task] = field(default_factory=dict)  # task id
    statuses: dict[str, objects_pb2.TaskStatus] = field(default_factory=dict)  # task id
    nodes: dict[str, objects_pb2.Node] = field(default_factory=dict)
    alive: set[str] = field(default_factory=set)
    revision: int = 0

    def apply(self, key: str, value: bytes | None, mod_revision: int) -> str | None:
        """Record one change; returns the kind of object it touched (or None)."""
        self.revision = max(self.revision, mod_revision)
        rest = key[len(keys.ROOT):] if key.startswith(keys.ROOT) else ""
        kind, _, ident = rest.partition("/")
        if kind == "apps":
            _put(self.apps, ident, value, objects_pb2.App, mod_revision)
        elif kind == "services":
            _put(self.services, ident, value, objects_pb2.Service, mod_revision)
        elif kind == "tasks":
            _put(self.tasks, keys.last_segment(ident), value, objects_pb2.Task, mod_revision)
        elif kind == "status":
            tid = keys.last_segment(ident)
            if value is None:
                self.statuses.pop(tid, None)
            else:
                self.statuses[tid] = decode(objects_pb2.TaskStatus, value)
        elif kind == "nodes":
            _put(self.nodes, ident, value, objects_pb2.Node, mod_revision)
        elif kind == "alive":
            if value is None:
                self.alive.discard(ident)
            else:
                self.alive.add(ident)
        else:
            return None
        return kind

    def status_of(self, task_id: str) -> objects_pb2.TaskStatus:
        return self.statuses.get(task_id) or objects_pb2.TaskStatus()

    def tasks_on(self, node: str) -> list[objects_pb2.Task]:
        return [t for t in self.tasks.values() if t.node == node]


def _put(table: dict[str, _M], ident: str, value: bytes | None, cls: type[_M], rev: int) -> None:
    if value is None:
        table.pop(ident, None)
    else:
        table[ident] = decode(cls, value, version=rev)


class Mirror:
    """Keeps a ClusterView current and calls `on_change(kinds)` after each batch."""

    def __init__(self, store: EtcdStore) -> None:
        self.view = ClusterView()
        self._store = store
        self._listeners: list[Callable[[set[str]], None]] = []
        self.synced = asyncio.Event()

    def subscribe(self, listener: Callable[[set[str]], None]) -> None:
        """Call `listener(kinds)` after every batch of changes."""
        self._listeners.append(listener)

    def _on_change(self, kinds: set[str]) -> None:
        for listener in self._listeners:
            listener(kinds)

    async def run(self) -> None:
        """Load, then follow the watch; on any break, load again (bounded backoff)."""
        delay = 0.2
        while True:
            try:
                await self._load_and_follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: reload, so the mirror stays alive
                log.warning("mirror lost its watch: %s; reloading", exc)
                self.synced.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _load_and_follow(self) -> None:
        entries, revision = await self._store.get_prefix(keys.ROOT)
        view = ClusterView(revision=revision)
        for e in entries:
            if not e.key.startswith(keys.EVENTS):
                view.apply(e.key, e.value, e.mod_revision)
        view.revision = revision
        self.view = view
        self.synced.set()
        self._on_change({"apps", "services", "tasks", "status", "nodes", "alive"})
        pending: set[str] = set()
        async for change in self._store.watch_prefix(keys.ROOT, start_revision=revision + 1):
            kind = self.view.apply(change.key, change.value, change.mod_revision)
            if kind is not None:
                pending.add(kind)
                # Let the rest of a transaction's events arrive before waking anyone.
                asyncio.get_running_loop().call_soon(self._flush, pending)

    def _flush(self, pending: set[str]) -> None:
        if pending:
            kinds = set(pending)
            pending.clear()
            self._on_change(kinds)
