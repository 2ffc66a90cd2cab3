"""Typed reads of stored objects: protobuf messages in, protobuf messages out.

Thin wrappers over `EtcdStore` that decode values and fill in each object's version
from its key's mod revision. Writes go through `Commit`s built by their callers, so that
each caller decides what it expects and what it changes in one transaction.
"""

from __future__ import annotations

import time

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.v1 import objects_pb2


def now_ms() -> int:
    return int(time.time() * 1000)


async def read_app(store: EtcdStore, name: str) -> objects_pb2.App | None:
    entry = await store.get(keys.app_key(name))
    if entry is None:
        return None
    return decode(objects_pb2.App, entry.value, version=entry.mod_revision)


async def list_apps(store: EtcdStore) -> list[objects_pb2.App]:
    entries, _ = await store.get_prefix(keys.APPS)
    return [decode(objects_pb2.App, e.value, version=e.mod_revision) for e in entries]


async def list_services(store: EtcdStore, app: str = "") -> list[objects_pb2.Service]:
    prefix = keys.services_prefix(app) if app else keys.SERVICES
    entries, _ = await store.get_prefix(prefix)
    return [decode(objects_pb2.Service, e.value, version=e.mod_revision) for e in entries]


async def list_tasks(store: EtcdStore, app: str = "") -> list[objects_pb2.Task]:
    """Tasks with their latest reported status merged in."""
    tprefix = keys.tasks_prefix(app) if app else keys.TASKS
    sprefix = keys.status_prefix(app) if app else keys.STATUS
    entries, _ = await store.get_prefix(tprefix)
    statuses, _ = await store.get_prefix(sprefix)
    by_id = {keys.last_segment(s.key): s.value for s in statuses}
    tasks = []
    for e in entries:
        task = decode(objects_pb2.Task, e.value, version=e.mod_revision)
        raw = by_id.get(task.meta.id)
        if raw is not None:
            task.status.ParseFromString(raw)
        tasks.append(task)
    return tasks


async def list_nodes(store: EtcdStore) -> list[objects_pb2.Node]:
    entries, _ = await store.get_prefix(keys.NODES)
    return [decode(objects_pb2.Node, e.value, version=e.mod_revision) for e in entries]


async def list_events(store: EtcdStore, app: str, *, limit: int = 50) -> list[objects_pb2.Event]:
    entries, _ = await store.get_prefix(keys.events_prefix(app))
    return [decode(objects_pb2.Event, e.value) for e in entries[-limit:]]


async def list_versions(store: EtcdStore, app: str) -> list[objects_pb2.AppVersion]:
    """An app's kept versions, oldest first (keys sort by number)."""
    entries, _ = await store.get_prefix(keys.history_prefix(app))
    return [decode(objects_pb2.AppVersion, e.value) for e in entries]
