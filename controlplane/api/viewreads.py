"""The List* answers built from this replica's mirror of etcd instead of from etcd.

Reading 10,000 tasks and their 10,000 statuses from etcd, decoding each and merging
them cost the server 0.4-1 s per `dockyard get tasks` on a loaded machine; the mirror
(`controlplane/mirror.py`) holds all of it decoded already, and a copy into the answer
costs about 0.05 s. What the CLI is promised stays the same: it sees every write
committed before its call, whichever replica took that write. `fresh_view` asks etcd
for its current revision (an empty range read, no data) and waits, bounded, until the
mirror has applied every change up to it; a mirror out of sync, or one that does not
catch up in time, gives None, and the caller reads etcd as before.

The builders are pure and give the objects in etcd's key order, as a prefix read does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Protocol

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2

# The key read (it need not exist) to learn etcd's current revision.
_PROBE = keys.CLUSTER + "revision-probe"
# The mirror applies a watch event within milliseconds of its commit; this bounds how
# long a read waits for it before it reads etcd instead.
CATCH_UP_S = 2.0


class Mirrored(Protocol):
    """What the reads ask of the mirror (controlplane/mirror.py's Mirror)."""

    @property
    def view(self) -> ClusterView: ...

    @property
    def synced(self) -> asyncio.Event: ...

    async def caught_up(self, revision: int, timeout_s: float) -> bool: ...


async def fresh_view(store: EtcdStore, mirror: Mirrored | None, *,
                     wait_s: float = CATCH_UP_S) -> ClusterView | None:
    """The mirror's view once it holds every write committed before this call, or None
    (no mirror, not in sync, or not caught up within `wait_s`)."""
    if mirror is None or not mirror.synced.is_set():
        return None
    _, revision = await store.get_range(_PROBE, _PROBE + "\0")
    if not await mirror.caught_up(revision, wait_s) or not mirror.synced.is_set():
        return None
    return mirror.view


def tasks_response(view: ClusterView, app: str = "") -> control_pb2.ListTasksResponse:
    """Every task (of `app`, if given) with its latest reported status, as
    `typed.list_tasks` reads them from etcd. Pure."""
    out = control_pb2.ListTasksResponse()
    add = out.tasks.add
    statuses = view.statuses
    for tid, task in in_key_order(view, app):
        copy = add()
        copy.CopyFrom(task)
        status = statuses.get(tid)
        if status is not None:
            copy.status.CopyFrom(status)
    return out


def in_key_order(view: ClusterView, app: str = "") -> Iterator[tuple[str, objects_pb2.Task]]:
    """(id, task) of the tasks (of `app`, if given) in etcd's key order, as a prefix read
    gives them: by app, then by id. Pure."""
    groups = [app] if app else sorted(view.by_app, key=lambda a: a + "/")
    for name in groups:
        group = view.by_app.get(name, {})
        for tid in sorted(group):
            yield tid, group[tid]


def services_of(view: ClusterView, app: str = "") -> list[objects_pb2.Service]:
    """The services (of `app`, if given), in key order. Pure."""
    if app:
        return [view.services[f"{app}/{name}"] for name in sorted(view.service_names.get(app, ()))
                if f"{app}/{name}" in view.services]
    return [view.services[ident] for ident in sorted(view.services)]


def apps_response(view: ClusterView, app: str = "") -> control_pb2.ListAppsResponse:
    """The apps (only `app`, if given) and their services. Pure."""
    names = [app] if app else sorted(view.apps)
    return control_pb2.ListAppsResponse(
        apps=[view.apps[n] for n in names if n in view.apps], services=services_of(view, app))


def nodes_of(view: ClusterView) -> list[objects_pb2.Node]:
    """The nodes in key order, copied (the caller adds heartbeat times to them). Pure."""
    out = []
    for name in sorted(view.nodes):
        node = objects_pb2.Node()
        node.CopyFrom(view.nodes[name])
        out.append(node)
    return out


def allocated(view: ClusterView) -> dict[str, specs_pb2.Resources]:
    """What the tasks placed on each node reserve while desired ready or running, by node
    name; nodes with none are absent. From the tasks-by-node index. Pure."""
    wanted = (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING)
    out: dict[str, specs_pb2.Resources] = {}
    for node, tasks in view.by_node.items():
        cpu = mem = 0
        for t in tasks.values():
            if t.desired_state in wanted:
                cpu += t.spec.reservations.cpu_millis
                mem += t.spec.reservations.memory_bytes
        if cpu or mem:
            out[node] = specs_pb2.Resources(cpu_millis=cpu, memory_bytes=mem)
    return out
