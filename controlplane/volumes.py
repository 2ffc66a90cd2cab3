"""Named volumes: which ones are node-local, where their data lives, who uses them. Pure.

Why this module exists: a node-local named volume (no `driver`, no `driver_opts`) is a
directory on one node. Once a task has run with it there, that node holds the data, and
a task started elsewhere would get an empty volume, as a database coming up empty. So
the leader records the node (`/dockyard/volumes/<app>/<volume>`, a `Volume`) when a
task first runs with the volume, and from then on the scheduler's `VolumeAffinity` rule
sends the volume's tasks there or keeps them pending. Portable volumes (a driver or
driver options, NFS through the local driver say) are made wherever a task runs and are
never bound.

The leader's round, drain, `get volumes` and `volume forget` all ask the same questions
of the same objects; the answers live here, as functions of stored objects, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dockyard.scheduler import BoundVolume
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2

LIVE = (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING)


def volume_id(app: str, name: str) -> str:
    return f"{app}/{name}"


def volume_spec(app: objects_pb2.App | None, name: str) -> specs_pb2.VolumeSpec:
    """The top-level declaration of an app's volume (an empty one if it has none)."""
    if app is not None:
        for spec in app.spec.volume_specs:
            if spec.name == name:
                return spec
    return specs_pb2.VolumeSpec(name=name)


def portable(spec: specs_pb2.VolumeSpec) -> bool:
    """A volume with a driver or driver options is made on any node that runs a task
    with it, with exactly those options; it is never bound to one node."""
    return bool(spec.driver) or bool(spec.driver_opts)


def mounted(spec: specs_pb2.ServiceSpec) -> list[str]:
    """The named volumes a service mounts, in order, each once."""
    out: list[str] = []
    for mount in spec.volumes:
        if mount.type == "volume" and mount.source and mount.source not in out:
            out.append(mount.source)
    return out


def node_local_mounts(task: objects_pb2.Task, app: objects_pb2.App | None) -> list[str]:
    """The node-local named volumes a task mounts."""
    return [name for name in mounted(task.spec) if not portable(volume_spec(app, name))]


def task_volumes(task: objects_pb2.Task, app: objects_pb2.App | None
                 ) -> list[specs_pb2.VolumeSpec]:
    """The declarations of the volumes a task mounts, for the agent to create them."""
    return [volume_spec(app, name) for name in mounted(task.spec)]


def bound_volumes(
    task: objects_pb2.Task,
    *,
    app: objects_pb2.App | None,
    volumes: Mapping[str, objects_pb2.Volume],
) -> tuple[BoundVolume, ...]:
    """The node-local volumes of a task that hold data on a node, with that node: where
    the task must run. None for a service that chose `volumes: recreate`."""
    if task.spec.volumes_recreate:
        return ()
    out = []
    for name in node_local_mounts(task, app):
        record = volumes.get(volume_id(task.app, name))
        if record is not None and record.node:
            out.append(BoundVolume(name=name, node=record.node))
    return tuple(out)


def held_volume(
    task: objects_pb2.Task,
    *,
    app: objects_pb2.App | None,
    volumes: Mapping[str, objects_pb2.Volume],
) -> str:
    """The node-local volume that keeps a task on its node (its data is there), or ""."""
    if not task.node:
        return ""
    for bound in bound_volumes(task, app=app, volumes=volumes):
        if bound.node == task.node:
            return bound.name
    return ""


def task_name(task: objects_pb2.Task) -> str:
    return f"{task.service}.{task.slot}"


def users_of(tasks: Iterable[objects_pb2.Task], app: str, name: str
             ) -> list[objects_pb2.Task]:
    """The live tasks of `app` that mount the volume `name`, by service and slot."""
    found = [t for t in tasks if t.app == app and t.desired_state in LIVE
             and name in mounted(t.spec)]
    return sorted(found, key=lambda t: (t.service, t.slot, t.meta.id))


def user_state(task: objects_pb2.Task, status: objects_pb2.TaskStatus) -> str:
    """A task's state as `get tasks` shows it."""
    if status.state:
        return str(objects_pb2.TaskState.Name(status.state)).lower()
    return "assigned" if task.node else "pending"


def volume_infos(
    *,
    apps: Iterable[objects_pb2.App],
    records: Iterable[objects_pb2.Volume],
    tasks: Iterable[objects_pb2.Task],
    app: str = "",
) -> list[control_pb2.VolumeInfo]:
    """Every named volume of the apps (or of `app`), and every recorded one whose app is
    gone: where it lives or its driver, who uses it, and what is left to remove. Tasks
    carry their status (`typed.list_tasks`)."""
    by_app = {a.meta.id: a for a in apps if not app or a.meta.id == app}
    recorded = {r.meta.id or volume_id(r.app, r.name): r for r in records
                if not app or r.app == app}
    live = [t for t in tasks if t.desired_state in LIVE]
    names = {volume_id(a, n): (a, n) for a, found in by_app.items()
             for n in found.spec.volumes}
    names.update({vid: (r.app, r.name) for vid, r in recorded.items()})
    out = []
    for vid in sorted(names):
        app_name, name = names[vid]
        spec = volume_spec(by_app.get(app_name), name)
        record = recorded.get(vid)
        info = control_pb2.VolumeInfo(app=app_name, name=name, external=spec.external)
        if portable(spec):
            info.driver = spec.driver or "local"
        if record is not None:
            info.node = record.node
            info.first_used_ms = record.first_used_ms
            info.remove_from.extend(record.remove_from)
        for t in users_of(live, app_name, name):
            info.users.append(control_pb2.VolumeUser(
                task_id=t.meta.id, service=t.service, slot=t.slot, node=t.node,
                state=user_state(t, t.status), recreate=t.spec.volumes_recreate))
        out.append(info)
    return out


def held_on(infos: Iterable[control_pb2.VolumeInfo], node: str
            ) -> list[tuple[control_pb2.VolumeInfo, control_pb2.VolumeUser]]:
    """The tasks a plain drain of `node` leaves running there, with the volume that
    holds each: node-local volumes bound to it, used there by a task that may not move."""
    return [(info, user) for info in infos if info.node == node and not info.driver
            for user in info.users if user.node == node and not user.recreate]


def removals_for(
    *, node: str, records: Iterable[objects_pb2.Volume], tasks: Iterable[objects_pb2.Task]
) -> list[tuple[str, str]]:
    """The volumes `node` is to remove now, as ("app/volume", engine name): those
    `delete app --volumes` left for it, once the node runs no task of their app."""
    busy = {t.app for t in tasks}
    return sorted((r.meta.id or volume_id(r.app, r.name), r.engine_name)
                  for r in records if node in r.remove_from and r.app not in busy)
