"""ClusterView: an in-memory copy of the cluster's state in etcd. Pure: no I/O.

The leader's reconcilers and the dispatcher read this view instead of etcd, the way
Kubernetes controllers read an informer cache. `ClusterView.apply` is pure bookkeeping;
`controlplane/mirror.py` holds the I/O that keeps a view current (an import-linter
contract keeps etcd and gRPC out of this module).

Besides the tables by id, the view keeps two indexes current as changes arrive, so
that nobody rescans every task to answer a question about one node or one app: the
tasks of each node (what a node's session sends) and the tasks of each app (what an
app's service-discovery table and its reconcile need). `apply` can also record what a
change touched (a `Touched`), so that only the sessions and apps it concerns do work.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TypeVar

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.v1 import objects_pb2

_M = TypeVar("_M", objects_pb2.App, objects_pb2.Service, objects_pb2.Task, objects_pb2.Node,
              objects_pb2.Volume)


@dataclass
class Touched:
    """What a batch of changes touched: filled by `ClusterView.apply`, read by whoever
    reacts to the batch (the sessions, the leader)."""

    kinds: set[str] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)  # its app, services, tasks or statuses
    nodes: set[str] = field(default_factory=set)  # a task assigned to it changed
    node_objects: set[str] = field(default_factory=set)  # the node (or its lease) changed
    tasks: set[str] = field(default_factory=set)  # task ids whose task or status changed
    app_objects: set[str] = field(default_factory=set)  # the app object itself changed
    # Apps something other than a task status changed in (app, services, tasks, volumes;
    # a service write that changes only its counts is not such a change):
    # the others of `apps` heard only of statuses, which a leader's round reads cheaply.
    structure: set[str] = field(default_factory=set)
    # Of `structure`, the apps whose app object, services or volumes changed (not only
    # tasks); and the ids of the tasks whose task object (not status) changed. The
    # leader tells its own task writes from news by them.
    specs: set[str] = field(default_factory=set)
    task_objects: set[str] = field(default_factory=set)
    # Apps a task status changed in. A service write of its counts alone (the leader's
    # own) is in `apps` but neither here nor in `structure`: it is no news to anyone.
    statuses: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def clear(self) -> None:
        for part in (self.kinds, self.apps, self.nodes, self.node_objects, self.tasks,
                     self.app_objects, self.structure, self.specs, self.task_objects,
                     self.statuses):
            part.clear()

    def merge(self, other: Touched) -> None:
        self.kinds |= other.kinds
        self.apps |= other.apps
        self.nodes |= other.nodes
        self.node_objects |= other.node_objects
        self.tasks |= other.tasks
        self.app_objects |= other.app_objects
        self.structure |= other.structure
        self.specs |= other.specs
        self.task_objects |= other.task_objects
        self.statuses |= other.statuses


@dataclass
class ClusterView:
    """Objects by id, each with its version set from the key's mod revision."""

    apps: dict[str, objects_pb2.App] = field(default_factory=dict)
    services: dict[str, objects_pb2.Service] = field(default_factory=dict)  # "app/svc"
    tasks: dict[str, objects_pb2.Task] = field(default_factory=dict)  # task id
    statuses: dict[str, objects_pb2.TaskStatus] = field(default_factory=dict)  # task id
    status_apps: dict[str, str] = field(default_factory=dict)  # task id -> app of its status
    nodes: dict[str, objects_pb2.Node] = field(default_factory=dict)
    alive: set[str] = field(default_factory=set)
    revision: int = 0
    # node -> the value of its liveness key (its session id), and node -> the session
    # id a replica marked unreachable (its stream closed): `unreachable_nodes`.
    sessions: dict[str, str] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, objects_pb2.Volume] = field(default_factory=dict)  # "app/volume"
    # Indexes, rebuilt from `tasks` on construction and kept current by `apply`.
    by_node: dict[str, dict[str, objects_pb2.Task]] = field(default_factory=dict)
    by_app: dict[str, dict[str, objects_pb2.Task]] = field(default_factory=dict)
    service_names: dict[str, set[str]] = field(default_factory=dict)  # app -> names
    unplaced: dict[str, set[str]] = field(default_factory=dict)  # app -> tasks on no node
    running: dict[str, int] = field(default_factory=dict)  # app -> statuses in RUNNING

    # False: the indexes are given as they are (a snapshot copies only what it needs).
    build_indexes: bool = True

    def __post_init__(self) -> None:
        if self.build_indexes and self.tasks and not (self.by_app or self.by_node):
            for t in self.tasks.values():
                self._index(t)
        if self.build_indexes and not self.running:
            for tid, st in self.statuses.items():
                app = self.status_apps.get(tid)
                if app is not None and st.state == objects_pb2.RUNNING:
                    self.running[app] = self.running.get(app, 0) + 1
        self.service_names = {}
        for ident in self.services:
            app, _, name = ident.partition("/")
            self.service_names.setdefault(app, set()).add(name)

    def apply(self, key: str, value: bytes | None, mod_revision: int,
              touched: Touched | None = None) -> str | None:
        """Record one change; returns the kind of object it touched (or None), and adds
        what it touched to `touched` when given."""
        self.revision = max(self.revision, mod_revision)
        rest = key[len(keys.ROOT):] if key.startswith(keys.ROOT) else ""
        kind, _, ident = rest.partition("/")
        t = touched if touched is not None else Touched()
        if kind == "apps":
            _put(self.apps, ident, value, objects_pb2.App, mod_revision)
            t.apps.add(ident)
            t.app_objects.add(ident)
            t.structure.add(ident)
            t.specs.add(ident)
        elif kind == "services":
            old_service = self.services.get(ident)
            _put(self.services, ident, value, objects_pb2.Service, mod_revision)
            app, _, name = ident.partition("/")
            names = self.service_names.setdefault(app, set())
            if value is None:
                names.discard(name)
                if not names:
                    del self.service_names[app]
            else:
                names.add(name)
            t.apps.add(app)
            if not counts_only(old_service, self.services.get(ident)):
                t.structure.add(app)
                t.specs.add(app)
        elif kind == "tasks":
            self._apply_task(keys.last_segment(ident), value, mod_revision, t)
        elif kind == "status":
            tid = keys.last_segment(ident)
            app = ident.partition("/")[0]
            old_status = self.statuses.get(tid)
            was = old_status is not None and old_status.state == objects_pb2.RUNNING
            if value is None:
                self.statuses.pop(tid, None)
                self.status_apps.pop(tid, None)
                now = False
            else:
                new_status = decode(objects_pb2.TaskStatus, value)
                self.statuses[tid] = new_status
                self.status_apps[tid] = app
                now = new_status.state == objects_pb2.RUNNING
            if now != was:
                left = self.running.get(app, 0) + (1 if now else -1)
                if left > 0:
                    self.running[app] = left
                else:
                    self.running.pop(app, None)
            t.apps.add(app)
            t.statuses.add(app)
            t.tasks.add(tid)
        elif kind == "nodes":
            _put(self.nodes, ident, value, objects_pb2.Node, mod_revision)
            t.node_objects.add(ident)
        elif kind == "volumes":
            old = self.volumes.get(ident)
            _put(self.volumes, ident, value, objects_pb2.Volume, mod_revision)
            new = self.volumes.get(ident)
            for record in (old, new):  # the nodes asked to remove it hear of the change
                if record is not None:
                    t.nodes.update(record.remove_from)
            t.apps.add(ident.partition("/")[0])  # its tasks may place differently now
            t.structure.add(ident.partition("/")[0])
            t.specs.add(ident.partition("/")[0])
        elif kind == "alive":
            if value is None:
                self.alive.discard(ident)
                self.sessions.pop(ident, None)
            else:
                self.alive.add(ident)
                self.sessions[ident] = value.decode(errors="replace")
            t.node_objects.add(ident)
        elif kind == "unreachable":
            # A mark changes only where the next new tasks may go: no round for it. A
            # node that lost a mark that counted (`unreachable_nodes`) may take the
            # tasks waiting for room; a mark of an older session counted for nothing.
            if value is None:
                gone = self.unreachable.pop(ident, None)
                if gone is not None and self._mark_counts(ident, gone):
                    t.node_objects.add(ident)
            else:
                self.unreachable[ident] = value.decode(errors="replace")
        else:
            return None
        t.kinds.add(kind)
        return kind

    def _apply_task(self, tid: str, value: bytes | None, rev: int, t: Touched) -> None:
        old = self.tasks.pop(tid, None)
        if old is not None:
            self._unindex(old)
            t.nodes.add(old.node)
            t.apps.add(old.app)
            t.structure.add(old.app)
        if value is not None:
            new = decode(objects_pb2.Task, value, version=rev)
            self.tasks[tid] = new
            self._index(new)
            t.nodes.add(new.node)
            t.apps.add(new.app)
            t.structure.add(new.app)
        t.nodes.discard("")
        t.tasks.add(tid)
        t.task_objects.add(tid)

    def _index(self, task: objects_pb2.Task) -> None:
        tid = task.meta.id
        if task.node:
            self.by_node.setdefault(task.node, {})[tid] = task
        else:
            self.unplaced.setdefault(task.app, set()).add(tid)
        self.by_app.setdefault(task.app, {})[tid] = task

    def _unindex(self, task: objects_pb2.Task) -> None:
        tid = task.meta.id
        for index, name in ((self.by_node, task.node), (self.by_app, task.app)):
            group = index.get(name)
            if group is not None:
                group.pop(tid, None)
                if not group:
                    del index[name]
        if not task.node:
            waiting = self.unplaced.get(task.app)
            if waiting is not None:
                waiting.discard(tid)
                if not waiting:
                    del self.unplaced[task.app]

    def status_of(self, task_id: str) -> objects_pb2.TaskStatus:
        return self.statuses.get(task_id) or objects_pb2.TaskStatus()

    def tasks_on(self, node: str) -> list[objects_pb2.Task]:
        """The tasks assigned to `node`, from the index (no scan of every task)."""
        return list(self.by_node.get(node, {}).values())

    def tasks_of(self, app: str) -> list[objects_pb2.Task]:
        """The tasks of `app`, from the index."""
        return list(self.by_app.get(app, {}).values())

    def orphaned_statuses(self) -> list[tuple[str, str]]:
        """(app, task id) of the statuses whose task is gone: left by a report that raced
        with the task's delete before statuses were written only for existing tasks."""
        return sorted((app, tid) for tid, app in self.status_apps.items()
                      if tid not in self.tasks)

    def apps_on(self, node: str) -> set[str]:
        """The apps `node` runs tasks of."""
        return {t.app for t in self.by_node.get(node, {}).values()}

    def unreachable_nodes(self) -> set[str]:
        """Nodes the replica holding their session lost the stream of (their host is
        gone, or going): still ready for their tasks until declared, but no place for
        new ones. A mark of an older session (the node registered again) does not
        count."""
        return {node for node, sid in self.unreachable.items()
                if self._mark_counts(node, sid)}

    def _mark_counts(self, node: str, sid: str) -> bool:
        """A mark counts only for the node's current session."""
        return self.sessions.get(node) == sid

    def all_running(self, app: str) -> bool:
        """Whether every task of `app` reports RUNNING (and it has tasks): counted as
        statuses arrive, no scan. A status left by a deleted task could count until the
        leader drops it, so this is a hint for when to look, never a verdict."""
        tasks = len(self.by_app.get(app, ()))
        return tasks > 0 and self.running.get(app, 0) >= tasks

    def apps_waiting(self) -> set[str]:
        """The apps that have tasks placed on no node (pending, or never to be placed)."""
        return set(self.unplaced)


def snapshot(view: ClusterView, apps: Collection[str] | None = None) -> ClusterView:
    """A copy of the view's tables, taken between two awaits: the mirror replaces
    objects rather than changing them, so the copy stays consistent while a worker
    thread reads it. Linear in the number of objects, and cheap: no object is copied.
    With `apps`, the copy's task index holds only those apps (all a round of those apps
    reads); without, it has no index (a full round reads the tables)."""
    return ClusterView(
        apps=dict(view.apps), services=dict(view.services), tasks=dict(view.tasks),
        statuses=dict(view.statuses), nodes=dict(view.nodes), alive=set(view.alive),
        revision=view.revision, build_indexes=False, sessions=dict(view.sessions),
        unreachable=dict(view.unreachable),
        by_app={} if apps is None else {a: dict(view.by_app.get(a, {})) for a in apps},
        volumes=dict(view.volumes),
    )


def counts_only(old: objects_pb2.Service | None, new: objects_pb2.Service | None) -> bool:
    """Whether a service's write changed only what it shows (`status`: its counts and
    what it waits on), as the leader's own count updates do. Pure."""
    if old is None or new is None:
        return False
    a, b = objects_pb2.Service(), objects_pb2.Service()
    a.CopyFrom(old)
    b.CopyFrom(new)
    for m in (a, b):
        m.ClearField("status")
        m.ClearField("meta")
    return a == b


def _put(table: dict[str, _M], ident: str, value: bytes | None, cls: type[_M], rev: int) -> None:
    if value is None:
        table.pop(ident, None)
    else:
        table[ident] = decode(cls, value, version=rev)
