"""Secrets and configs kept inside App objects by older versions move to their own keys.

Before this version an app's secrets and configs were stored, in plain text, inside its
App object (and returned by GetApp). At its first start the new server rewrites every
such app as an apply would: each content goes to its own object (a secret sealed), the
app keeps names, versions and digests, and each service's references name the object
version. That changes the services' spec hashes, so their tasks are replaced once, and
the new containers mount the files from the agents' tmpfs instead of the host's disk.
One transaction per app, comparing the app and its services: a replica starting at the
same moment either does the same or finds nothing left to do.
"""

from __future__ import annotations

import logging

from dockyard.controlplane.desired import app_hash, service_hash
from dockyard.controlplane.files.plan import declared, resolve_refs
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.v1 import objects_pb2

log = logging.getLogger("dockyard.files")


def needs_migration(app: objects_pb2.App) -> bool:
    """True when the app still holds a declaration not moved to its own object. Pure."""
    return any(obj.data or not obj.object for _, obj in declared(app.spec))


async def migrate_apps(store: EtcdStore, files: FileStore) -> list[str]:
    """Move every app's inline secrets and configs to their own objects; the names of
    the apps moved. An app that cannot be moved is logged and left as it is."""
    moved = []
    for app in await typed.list_apps(store):
        for _ in range(5):
            if not needs_migration(app):
                break
            if await _migrate(store, files, app):
                moved.append(app.meta.id)
                break
            fresh = await typed.read_app(store, app.meta.id)
            if fresh is None:
                break
            app = fresh
    return moved


async def _migrate(store: EtcdStore, files: FileStore, app: objects_pb2.App) -> bool:
    now = typed.now_ms()
    prepared = await files.prepare_apply(app.spec, None, now_ms=now)
    if prepared.plan.problem:
        log.error("app %s keeps its secrets inline: %s", app.meta.id, prepared.plan.problem)
        return True
    new = objects_pb2.App()
    new.CopyFrom(app)
    new.spec.CopyFrom(prepared.plan.spec)
    new.spec_hash = app_hash(new.spec)
    new.meta.updated_ms = now
    commit = Commit(expect={keys.app_key(app.meta.id): app.meta.version, **prepared.expect},
                    puts={keys.app_key(app.meta.id): encode(new), **prepared.puts})
    for svc in await typed.list_services(store, app.meta.id):
        if resolve_refs(svc.spec, new.spec):
            svc.spec_hash = service_hash(svc.spec)
            svc.meta.updated_ms = now
            key = keys.service_key(app.meta.id, svc.spec.name)
            commit.expect[key] = svc.meta.version
            commit.puts[key] = encode(svc)
    if not await store.commit(commit):
        return False
    log.info("app %s: %d secret(s) and config(s) moved to their own keys, encrypted",
             app.meta.id, sum(1 for _ in declared(new.spec)))
    return True
