"""The Control API's secrets and configs: PutFile, ListFiles, RemoveFile.

One of the mixins ControlService (controlplane/api/control.py) is made of; its store,
file store, `_guard` and `_on_change` come from ControlBase (controlplane/api/base.py).
Answers never hold content: a StoredFile leaves here through `public` only, and events
name objects and versions, never bytes.
"""

from __future__ import annotations

import grpc

from dockyard.common.files import KINDS
from dockyard.common.spec import rules
from dockyard.controlplane.api.base import ATTEMPTS, ControlBase, abort
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.files.plan import Write, next_version, roll, size_problem, users_of
from dockyard.controlplane.files.store import FileStoreError, public
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit
from dockyard.v1 import control_pb2, objects_pb2


class FilesApi(ControlBase):
    """PutFile, ListFiles and RemoveFile (see control.proto)."""

    async def _kind(self, context: grpc.aio.ServicerContext, kind: str) -> None:
        if kind not in KINDS:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                        f"kind must be secret or config, got {kind!r}")

    async def PutFile(
        self, request: control_pb2.PutFileRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.StoredFile:
        kind, name, data = request.kind, request.name, request.data
        await self._kind(context, kind)
        problem = rules.object_name_problem(name)
        if problem:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                        f"{kind} name {name!r} {problem}")
        problem = size_problem(kind, name, len(data))
        if problem:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
        key = keys.file_key(kind, name)
        for _ in range(ATTEMPTS):
            old = await self._guard(context, self._files.read(kind, name))
            version = next_version(old, data)
            if version is None and old is not None:
                return public(old)  # the same content: nothing to do
            now = typed.now_ms()
            try:
                file = self._files.stored_value(Write(kind, name, "", version or 1, data), old,
                                                now)
            except FileStoreError as exc:
                await abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            services = await self._guard(context, typed.list_services(self._store, ""))
            apps = await self._guard(context, typed.list_apps(self._store))
            rolled, rolled_apps = roll(services, apps, file, now_ms=now)
            commit = Commit(expect={key: old.meta.version if old is not None else 0},
                            puts={key: encode(file)})
            for svc in rolled:
                commit.expect[keys.service_key(svc.app, svc.spec.name)] = svc.meta.version
                commit.puts[keys.service_key(svc.app, svc.spec.name)] = encode(svc)
            for app in rolled_apps:
                commit.expect[keys.app_key(app.meta.id)] = app.meta.version
                commit.puts[keys.app_key(app.meta.id)] = encode(app)
            for app_name in sorted({s.app for s in rolled}):
                names = ", ".join(s.spec.name for s in rolled if s.app == app_name)
                ev_key, ev_value = event_entry(
                    app=app_name, kind=kind, obj=name, now_ms=now,
                    message=f"{kind} {name} is now version {file.version}: rolling {names}")
                commit.puts[ev_key] = ev_value
            if await self._guard(context, self._store.commit(commit)):
                self._on_change()
                file.meta.version = 0
                return public(file)
        await abort(context, grpc.StatusCode.ABORTED, f"{kind} {name!r} kept changing; retry")

    async def ListFiles(
        self, request: control_pb2.ListFilesRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListFilesResponse:
        await self._kind(context, request.kind)
        files = await self._guard(context, self._files.list(request.kind))
        services = await self._guard(context, typed.list_services(self._store, ""))
        return control_pb2.ListFilesResponse(files=[
            control_pb2.FileSummary(file=public(f),
                                    used_by=users_of(services, f.kind, f.meta.id))
            for f in files])

    async def RemoveFile(
        self, request: control_pb2.RemoveFileRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.RemoveFileResponse:
        kind, name = request.kind, request.name
        await self._kind(context, kind)
        old = None
        if "/" in name or not rules.object_name_problem(name):
            old = await self._guard(context, self._files.read(kind, name))
        if old is None:
            problem = rules.object_name_problem(name)
            if problem and "/" not in name:
                await abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                            f"{kind} name {name!r} {problem}")
            return control_pb2.RemoveFileResponse(removed=False)
        if old.app:
            await abort(context, grpc.StatusCode.FAILED_PRECONDITION,
                        f"{kind} {name} belongs to app {old.app}: it goes when the app's file "
                        f"no longer declares it, or with `dockyard delete app {old.app}`")
        key = keys.file_key(kind, name)
        for _ in range(ATTEMPTS):
            entries, revision = await self._guard(context, self._store.get_prefix(keys.SERVICES))
            services = [decode(objects_pb2.Service, e.value) for e in entries]
            users = users_of(services, kind, name)
            if users:
                await abort(context, grpc.StatusCode.FAILED_PRECONDITION,
                            f"{kind} {name} is used by {', '.join(users)}: remove it from "
                            "their files and apply them first")
            # The check holds only if no apply wrote since the read: every apply that
            # adds a reference writes its app's key in its transaction, so the delete
            # compares that no app key changed (an apply, the other way round, compares
            # the object's revision). Status writes to services do not disturb it.
            commit = Commit(expect={key: old.meta.version}, deletes=[key],
                            unchanged_since={keys.APPS: revision})
            if await self._guard(context, self._store.commit(commit)):
                return control_pb2.RemoveFileResponse(removed=True)
            fresh = await self._guard(context, self._files.read(kind, name))
            if fresh is None:
                return control_pb2.RemoveFileResponse(removed=False)
            if fresh.meta.version != old.meta.version:
                await abort(context, grpc.StatusCode.ABORTED, f"{kind} {name!r} changed; retry")
        await abort(context, grpc.StatusCode.ABORTED,
                    f"apps kept changing while {kind} {name!r} was being removed; retry")
