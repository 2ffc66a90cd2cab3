"""The Control API's volume calls: `get volumes`, `volume forget`, and the volume side of
`delete app --volumes`, `node drain` and `apply`.

`ControlService` hands these over in a line each, so the volume rules stay in one room:
what is true of volumes is computed by `controlplane/volumes.py` (pure); this module
reads and writes the store around it.
"""

from __future__ import annotations

from dockyard.common.spec import rules
from dockyard.common.spec.errors import show
from dockyard.controlplane import admission
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.controlplane.volumes import held_on, portable, volume_infos, volume_spec
from dockyard.v1 import control_pb2, objects_pb2


class VolumeRefused(Exception):
    """A volume request that cannot be done, in one line; nothing was changed."""


async def list_records(store: EtcdStore, app: str = "") -> list[objects_pb2.Volume]:
    entries, _ = await store.get_prefix(keys.volumes_prefix(app) if app else keys.VOLUMES)
    return [decode(objects_pb2.Volume, e.value, version=e.mod_revision) for e in entries]


async def list_volumes(store: EtcdStore, app: str) -> control_pb2.ListVolumesResponse:
    apps = await typed.list_apps(store)
    records = await list_records(store, app)
    tasks = await typed.list_tasks(store, app)
    return control_pb2.ListVolumesResponse(
        volumes=volume_infos(apps=apps, records=records, tasks=tasks, app=app))


def request_problem(app: str, volume: str) -> str | None:
    """Why a ForgetVolume request is not valid, or None. Pure."""
    problem = admission.name_problem("app", app)
    if problem:
        return problem
    problem = rules.object_name_problem(volume)
    return f"volume name {show(volume)} {problem}" if problem else None


async def forget(store: EtcdStore, app: str, volume: str) -> str:
    """Delete a volume's record; returns the node it was bound to. Refused, with
    nothing changed, when there is no binding to release."""
    key = keys.volume_key(app, volume)
    entry = await store.get(key)
    if entry is None:
        found = await typed.read_app(store, app)
        if found is None:
            raise VolumeRefused(f"no app named {app!r}, and no volume {app}/{volume} is kept")
        if volume not in found.spec.volumes:
            raise VolumeRefused(f"app {app} has no volume {volume!r} "
                                f"(its volumes: {', '.join(found.spec.volumes) or 'none'})")
        spec = volume_spec(found, volume)
        if portable(spec):
            raise VolumeRefused(f"volume {app}/{volume} is portable (driver "
                                f"{spec.driver or 'local'}): it is never bound to a node")
        raise VolumeRefused(f"volume {app}/{volume} is not bound to a node: no task has "
                            "run with it yet")
    record = decode(objects_pb2.Volume, entry.value)
    where = record.node or "no node"
    ev_key, ev_value = event_entry(
        app=app, kind="volume", obj=f"{app}/{volume}", now_ms=typed.now_ms(),
        message=f"volume {volume} forgotten: it was bound to {where}; its tasks may start "
                f"on an empty volume elsewhere (the data stays on {where})")
    commit = Commit(expect={key: entry.mod_revision}, puts={ev_key: ev_value}, deletes=[key])
    if not await store.commit(commit):
        raise VolumeRefused(f"volume {app}/{volume} changed meanwhile; retry")
    return record.node


async def removal_writes(store: EtcdStore, app: objects_pb2.App, commit: Commit) -> list[str]:
    """Add to a delete's commit: every volume of the app but external ones, to be
    removed from every node (each node removes it once the app's containers there are
    gone), as `docker compose down --volumes` does. Returns the names."""
    nodes = sorted(n.meta.id for n in await typed.list_nodes(store))
    records = {r.name: r for r in await list_records(store, app.meta.id)}
    names = sorted((set(app.spec.volumes) | set(records))
                   - {n for n in app.spec.volumes if volume_spec(app, n).external})
    for name in names:
        record = records.get(name) or objects_pb2.Volume(app=app.meta.id, name=name)
        record.engine_name = volume_spec(app, name).engine_name or f"{app.meta.id}_{name}"
        key = keys.volume_key(app.meta.id, name)
        commit.expect[key] = record.meta.version
        if not nodes:
            commit.deletes.append(key)
            continue
        record.meta.id = f"{app.meta.id}/{name}"
        record.meta.version = 0
        del record.remove_from[:]
        record.remove_from.extend(nodes)
        commit.puts[key] = encode(record)
    return names


async def removal_problem(store: EtcdStore, app: str) -> str | None:
    """Why an app cannot be applied yet: its volumes are still being removed."""
    pending = [r for r in await list_records(store, app) if r.remove_from]
    if not pending:
        return None
    first = pending[0]
    return (f"app {app}'s volumes are still being removed (delete --volumes): "
            f"{', '.join(first.remove_from)} has not removed {first.name} yet; retry once "
            f"`dockyard get volumes` no longer lists it, or `dockyard volume forget "
            f"{app}/{first.name}`")


async def drain_events(store: EtcdStore, node: str, commit: Commit) -> None:
    """Add to a (plain) drain's commit one event per task the drain leaves running."""
    infos = (await list_volumes(store, "")).volumes
    now = typed.now_ms()
    for info, user in held_on(infos, node):
        key, value = event_entry(
            app=info.app, kind="task", obj=user.task_id, now_ms=now,
            message=f"{user.service}.{user.slot} stays on drained node {node}: it holds "
                    f"the node-local volume {info.name} (drain --force stops it)")
        commit.puts[key] = value


async def volume_removed(store: EtcdStore, volume: str, node: str) -> None:
    """`node` removed `volume` ("app/volume"): it leaves the record's `remove_from`, and
    the record goes with the last node. A few attempts against concurrent writers."""
    app, _, name = volume.partition("/")
    key = keys.volume_key(app, name)
    for _ in range(5):
        entry = await store.get(key)
        if entry is None:
            return
        record = decode(objects_pb2.Volume, entry.value)
        if node not in record.remove_from:
            return
        left = [n for n in record.remove_from if n != node]
        commit = Commit(expect={key: entry.mod_revision})
        if left:
            del record.remove_from[:]
            record.remove_from.extend(left)
            commit.puts[key] = encode(record)
        else:
            commit.deletes.append(key)
        if await store.commit(commit):
            return
