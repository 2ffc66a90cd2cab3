"""ClusterView: an in-memory copy of the cluster's state in etcd. Pure: no I/O.

The leader's reconcilers and the dispatcher read this view instead of etcd, the way
Kubernetes controllers read an informer cache. `ClusterView.apply` is pure bookkeeping;
`controlplane/mirror.py` holds the I/O that keeps a view current (an import-linter
contract keeps etcd and gRPC out of this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.v1 import objects_pb2

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
