"""The Control rpcs that write an app's desired state: Apply, DeleteApp and Scale.

Apply is the biggest write the cluster takes (the app, its services, its kept version,
its secrets and configs and an event, in one etcd transaction), and rollback reuses it
(versions.py), so it has a module of its own beside the two other app writes.
Every request is judged before anything is read or stored (``controlplane.admission``):
a bad one ends with INVALID_ARGUMENT and one line, whatever client sent it.
"""

from __future__ import annotations

import time

import grpc

from dockyard.common.spec.admissible import app_problem
from dockyard.common.spec.privileges import privilege_problem
from dockyard.controlplane import admission, history
from dockyard.controlplane.api import volumes
from dockyard.controlplane.api.base import ATTEMPTS, ControlBase, abort, refuse
from dockyard.controlplane.desired import ServiceDiff, app_hash, diff_services
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.files.plan import owned_refs
from dockyard.controlplane.metrics import APPLY_SECONDS
from dockyard.controlplane.preview import add_placements
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2


class AppWrites(ControlBase):
    """Apply, DeleteApp and Scale (see control.proto)."""

    async def Apply(
        self, request: control_pb2.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ApplyResponse:
        started = time.perf_counter()
        spec = request.spec
        problem = app_problem(spec, self._limits)
        if problem:
            await refuse(context, problem)
        # Privileged Compose keys (docs/security.md): granted by the cluster or the request.
        refused = privilege_problem(spec, self._allow | set(request.allow))
        if refused:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
        nodes = await self._guard(context, typed.list_nodes(self._store))
        services = await self._guard(context, typed.list_services(self._store, ""))
        problem = admission.admit(spec, nodes, limits=self._limits, services=services)
        problem = problem or await self._guard(context, volumes.removal_problem(
            self._store, spec.name))
        if problem:
            await refuse(context, problem)
        response = await self._apply(spec, context, allow=list(request.allow), source="apply",
                                     dry_run=request.dry_run)
        APPLY_SECONDS.observe(time.perf_counter() - started)
        return response

    async def _apply(self, spec: specs_pb2.AppSpec, context: grpc.aio.ServicerContext, *,
                     allow: list[str], source: str, rolling_back: bool = False,
                     dry_run: bool = False) -> control_pb2.ApplyResponse:
        """Store an admitted spec (an apply, or a rollback to a kept version)."""
        for _ in range(ATTEMPTS):
            try:
                result = await self._guard(context, self._apply_once(
                    spec, allow=allow, source=source, rolling_back=rolling_back,
                    dry_run=dry_run))
            except _Refused as exc:
                await refuse(context, str(exc))
            if result is not None:
                if not dry_run:
                    self._on_change()
                return result
        await context.abort(
            grpc.StatusCode.ABORTED, f"app {spec.name!r} kept changing under the apply; retry"
        )
        raise AssertionError("unreachable")

    async def _apply_once(self, spec: specs_pb2.AppSpec, *, allow: list[str], source: str,
                          rolling_back: bool, dry_run: bool = False
                          ) -> control_pb2.ApplyResponse | None:
        now = typed.now_ms()
        old_app = await typed.read_app(self._store, spec.name)
        files = await self._files.prepare_apply(spec, old_app.spec if old_app else None, now_ms=now)
        if files.plan.problem:
            raise _Refused(files.plan.problem)
        spec = files.plan.spec  # content cleared: it goes to its own keys, in this commit
        stored = {s.spec.name: s for s in await typed.list_services(self._store, spec.name)}
        diffs = diff_services(app=spec.name, stored=stored, spec=spec, now_ms=now,
                              applied=old_app.spec if old_app is not None else None,
                              rolling_back=rolling_back)
        app = objects_pb2.App(spec=spec, spec_hash=app_hash(spec))
        app.meta.id = spec.name
        app.meta.created_ms = old_app.meta.created_ms if old_app else now
        app.meta.updated_ms = now
        app.version = old_app.version if old_app else 0
        changes = service_changes(diffs)
        response = control_pb2.ApplyResponse(app=app, changes=changes)
        if old_app is not None and nothing_changed(old_app, app, diffs):
            response.app.CopyFrom(old_app)
            return response
        if dry_run:  # judged like an apply, and nothing stored; where new tasks would run
            if self._view is not None:
                add_placements(self._view(), response,
                               [d.service for d in diffs if d.service is not None])
            return response
        commit = Commit()
        commit.expect[keys.app_key(spec.name)] = old_app.meta.version if old_app else 0
        for name, svc in stored.items():
            commit.expect[keys.service_key(spec.name, name)] = svc.meta.version
        if old_app is None or old_app.spec_hash != app.spec_hash:
            app.version += 1
            _keep_version(commit, app, before=old_app.spec if old_app else None, now_ms=now,
                          source=source, allow=allow)
        commit.puts[keys.app_key(spec.name)] = encode(app)
        commit.expect.update(files.expect)
        commit.puts.update(files.puts)
        commit.deletes += files.deletes
        for d in diffs:
            if d.service is not None:
                commit.puts[keys.service_key(spec.name, d.name)] = encode(d.service)
            elif d.action == "removed":
                commit.deletes.append(keys.service_key(spec.name, d.name))
        summary = ", ".join(f"{c.service} {c.action}" for c in changes) or "no services"
        verb = "applied" if source == "apply" else f"{source}, as version {app.version}"
        key, value = event_entry(
            app=spec.name, kind="app", obj=spec.name, message=f"{verb}: {summary}", now_ms=now
        )
        commit.puts[key] = value
        problem = admission.apply_txn_problem(
            app=spec.name, compares=len(commit.expect),
            ops=len(commit.puts) + len(commit.deletes),
            size=sum(len(k) + len(v) for k, v in commit.puts.items())
            + sum(len(k) for k in commit.deletes))
        if problem:
            raise _Refused(problem)
        if not await self._store.commit(commit):
            return None
        response.app.CopyFrom(app)
        return response

    async def DeleteApp(
        self, request: control_pb2.DeleteAppRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.DeleteAppResponse:
        name = request.name
        await refuse(context, admission.name_problem("app", name))
        app = await self._guard(context, typed.read_app(self._store, name))
        if app is None:
            return control_pb2.DeleteAppResponse(deleted=False)
        services = await self._guard(context, typed.list_services(self._store, name))
        commit = Commit()
        commit.expect[keys.app_key(name)] = app.meta.version
        commit.deletes.append(keys.app_key(name))
        commit.deletes += [keys.service_key(name, s.spec.name) for s in services]
        commit.deletes += [keys.history_key(name, n) for n in history.kept_numbers(app.version)]
        commit.deletes += [keys.file_key(*ref) for ref in sorted(owned_refs(app.spec))]
        removed: list[str] = []
        if request.volumes:
            removed = await self._guard(context, volumes.removal_writes(self._store, app, commit))
        key, value = event_entry(
            app=name, kind="app", obj=name, now_ms=typed.now_ms(),
            message="deleted" + (f", with its volumes {', '.join(removed)}" if removed else ""))
        commit.puts[key] = value
        ok = await self._guard(context, self._store.commit(commit))
        if not ok:
            await context.abort(grpc.StatusCode.ABORTED, f"app {name!r} changed; retry")
        self._on_change()
        return control_pb2.DeleteAppResponse(deleted=True, volumes=removed)

    async def Scale(
        self, request: control_pb2.ScaleRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Service:
        await refuse(context, admission.name_problem("app", request.app)
                     or admission.name_problem("service", request.service))
        if request.replicas < 0:
            await refuse(context, f"replicas must not be negative, got {request.replicas}")
        if request.replicas > 0:  # scaling to zero always works: it needs no total
            services = await self._guard(context, typed.list_services(self._store, ""))
            await refuse(context, admission.scale_problem(
                request.app, request.service, request.replicas, services=services,
                limits=self._limits))
        key = keys.service_key(request.app, request.service)
        for _ in range(ATTEMPTS):
            entry = await self._guard(context, self._store.get(key))
            if entry is None:
                await abort(context, grpc.StatusCode.NOT_FOUND,
                            f"no service {request.service!r} in app {request.app!r}")
            svc = decode(objects_pb2.Service, entry.value)
            svc.spec.replicas = request.replicas
            svc.meta.updated_ms = typed.now_ms()
            ev_key, ev_value = event_entry(
                app=request.app,
                kind="service",
                obj=svc.meta.id,
                message=f"scaled to {request.replicas}",
                now_ms=svc.meta.updated_ms,
            )
            commit = Commit(expect={key: entry.mod_revision}, puts={key: encode(svc)})
            commit.puts[ev_key] = ev_value
            if await self._guard(context, self._store.commit(commit)):
                self._on_change()
                return svc
        await context.abort(grpc.StatusCode.ABORTED, "service kept changing; retry")
        raise AssertionError("unreachable")


def _keep_version(commit: Commit, app: objects_pb2.App, *, before: specs_pb2.AppSpec | None,
                  now_ms: int, source: str, allow: list[str]) -> None:
    """Add version `app.version` to the app's history in `commit`, and drop the one that
    falls out of the kept ones."""
    version = objects_pb2.AppVersion(
        number=app.version, applied_ms=now_ms, spec=history.kept_spec(app.spec),
        spec_hash=app.spec_hash, changes=history.version_changes(before, app.spec),
        source=source, allow=sorted(set(allow)))
    commit.puts[keys.history_key(app.meta.id, app.version)] = encode(version)
    dropped = history.dropped_version(app.version)
    if dropped:
        commit.deletes.append(keys.history_key(app.meta.id, dropped))


def service_changes(diffs: list[ServiceDiff]) -> list[control_pb2.ServiceChange]:
    """The apply's answer per service, with what changed. Pure."""
    return [control_pb2.ServiceChange(service=d.name, action=d.action, detail=d.detail)
            for d in diffs]


def nothing_changed(
    old_app: objects_pb2.App, app: objects_pb2.App, diffs: list[ServiceDiff]
) -> bool:
    """True when the apply has nothing to write: the same file, and no service differs
    from it (a service scaled by hand differs, and is set back). Pure."""
    return old_app.spec_hash == app.spec_hash and all(d.action == "unchanged" for d in diffs)


class _Refused(Exception):
    """An apply that would break a limit only visible once its writes are known."""
