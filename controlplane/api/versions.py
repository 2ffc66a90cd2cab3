"""The Control rpcs of an app's kept versions: History and Rollback.

A rollback is an apply of a kept spec, admitted again with the privileges its own apply
was allowed, so `VersionRpcs` builds on the apply of apps.py rather than beside it.
"""

from __future__ import annotations

import grpc

from dockyard.common.spec.admissible import app_problem
from dockyard.common.spec.privileges import privilege_problem
from dockyard.controlplane import admission, history
from dockyard.controlplane.api.apps import AppWrites
from dockyard.controlplane.api.base import abort, refuse
from dockyard.controlplane.store import typed
from dockyard.v1 import control_pb2


class VersionRpcs(AppWrites):
    """History and Rollback (see control.proto), with the app writes they build on."""

    async def History(
        self, request: control_pb2.HistoryRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.HistoryResponse:
        await refuse(context, admission.name_problem("app", request.app))
        versions = await self._guard(context, typed.list_versions(self._store, request.app))
        if not versions:
            await abort(context, grpc.StatusCode.NOT_FOUND,
                        f"no app named {request.app!r} (or it has no kept versions)")
        services = await self._guard(context, typed.list_services(self._store, request.app))
        current = history.current_version(
            versions, {s.spec.name: s.spec_hash for s in services})
        return control_pb2.HistoryResponse(versions=versions, current=current)

    async def Rollback(
        self, request: control_pb2.RollbackRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ApplyResponse:
        """Apply a kept version again, as a new version; it is admitted like any apply,
        with the privileges its own apply was allowed."""
        await refuse(context, admission.name_problem("app", request.app))
        if request.to < 0:
            await refuse(context, f"version must not be negative, got {request.to}")
        app = await self._guard(context, typed.read_app(self._store, request.app))
        if app is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no app named {request.app!r}")
        versions = await self._guard(context, typed.list_versions(self._store, request.app))
        target = history.rollback_target(versions, app=request.app, latest=app.version,
                                         to=request.to)
        if isinstance(target, str):
            await abort(context, grpc.StatusCode.FAILED_PRECONDITION, target)
        spec, problem = history.restore_files(target.spec, app.spec)
        if problem:
            await abort(context, grpc.StatusCode.FAILED_PRECONDITION, problem)
        problem = app_problem(spec, self._limits) or privilege_problem(
            spec, self._allow | set(target.allow))
        if problem is None:
            nodes = await self._guard(context, typed.list_nodes(self._store))
            services = await self._guard(context, typed.list_services(self._store, ""))
            problem = admission.admit(spec, nodes, limits=self._limits, services=services)
        if problem:
            await abort(context, grpc.StatusCode.FAILED_PRECONDITION,
                        f"version {target.number} cannot be applied again: {problem}")
        return await self._apply(spec, context, allow=list(target.allow),
                                 source=f"rollback to {target.number}", rolling_back=True)
