"""Volume bindings: record where a node-local volume's data lives once a task ran there.
Pure.

A task that reaches RUNNING on a node with a node-local named volume has (or may have)
written to it: from then on the volume is bound to that node (`Volume.node`), and the
scheduler sends the volume's tasks only there. A service with `volumes: recreate` may
start elsewhere on an empty volume; when it does, and no task runs with the volume on
the old node any more, the binding moves with it, and the event log says it started on
an empty volume.
"""

from __future__ import annotations

from collections.abc import Collection

from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.tasks import tasks_in
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import LIVE, node_local_mounts, task_name, volume_id
from dockyard.v1 import objects_pb2


def reconcile_volumes(*, view: ClusterView, decision: Decision, now_ms: int,
                      apps: Collection[str] | None = None) -> None:
    """Bind each node-local volume to the node its first running task runs on; only
    volumes of `apps` (those changed since the last round) when given."""
    running_on: dict[str, set[str]] = {}  # volume id -> nodes running a task with it
    firsts: list[tuple[objects_pb2.Task, str]] = []
    mounts: dict[str, bool] = {}  # by spec hash: reading a task's spec is not cheap
    mounting = [t for t in tasks_in(view, apps) if t.node and t.desired_state in LIVE
                and _mounts(t, mounts)]
    for task in sorted(mounting, key=lambda t: (t.meta.created_ms, t.meta.id)):
        app = view.apps.get(task.app)
        if app is None or view.status_of(task.meta.id).state != objects_pb2.RUNNING:
            continue  # a deleted app's tasks are stopping: nothing to bind
        for name in node_local_mounts(task, app):
            running_on.setdefault(volume_id(task.app, name), set()).add(task.node)
            firsts.append((task, name))
    written: set[str] = set()
    for task, name in firsts:
        vid = volume_id(task.app, name)
        record = view.volumes.get(vid)
        if vid in written or (record is not None and record.remove_from):
            continue
        if record is not None and record.node:
            if record.node == task.node or record.node in running_on[vid]:
                continue
            if not task.spec.volumes_recreate:
                continue  # it ran elsewhere before the binding existed: leave it be
            decision.note(
                app=task.app, kind="task", obj=task.meta.id, now_ms=now_ms,
                message=f"{task_name(task)} started on an empty volume {name} on "
                        f"{task.node} (volumes: recreate); its old data stays on "
                        f"{record.node}")
        started = view.status_of(task.meta.id).started_ms or now_ms
        changed = objects_pb2.Volume(app=task.app, name=name, node=task.node,
                                     first_used_ms=started, first_task=task_name(task))
        changed.meta.id = vid
        changed.meta.created_ms = record.meta.created_ms if record is not None else now_ms
        changed.meta.updated_ms = now_ms
        changed.meta.version = record.meta.version if record is not None else 0
        decision.put_volumes.append(changed)
        written.add(vid)
        if record is None or not record.node:
            decision.note(app=task.app, kind="task", obj=task.meta.id, now_ms=now_ms,
                          message=f"volume {name} is bound to {task.node}: "
                                  f"{task_name(task)} first ran with it there")


def _mounts(task: objects_pb2.Task, known: dict[str, bool]) -> bool:
    """Whether `task`'s spec mounts volumes, read once per spec hash (the hash covers
    the spec; a task without one is read on its own). Pure."""
    if not task.spec_hash:
        return bool(task.spec.volumes)
    got = known.get(task.spec_hash)
    if got is None:
        got = known[task.spec_hash] = bool(task.spec.volumes)
    return got
