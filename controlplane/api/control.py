"""The Control API the CLI calls: apply, get, list, describe, delete, scale, watch.

Every request is judged before anything is read or stored (``controlplane.admission``):
a bad one ends with INVALID_ARGUMENT and one line, whatever client sent it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NoReturn, Protocol, TypeVar

import grpc

from dockyard.common.spec import rules
from dockyard.common.spec.admissible import app_problem
from dockyard.common.spec.privileges import privilege_problem
from dockyard.controlplane import admission, history
from dockyard.controlplane.api import volumes
from dockyard.controlplane.api.builds import BuildBroker, relay_build
from dockyard.controlplane.api.exec import caller_stream
from dockyard.controlplane.api.logs import LogBroker
from dockyard.controlplane.console import auth as console_auth
from dockyard.controlplane.desired import ServiceDiff, app_hash, diff_services
from dockyard.controlplane.events import event_entry, stored_events
from dockyard.controlplane.files.api import FilesApi
from dockyard.controlplane.files.plan import owned_refs
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.metrics import APPLY_SECONDS
from dockyard.controlplane.network.subnets import claim_name
from dockyard.controlplane.security.cluster import TokenKeeper
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from dockyard.controlplane.view import ClusterView
from dockyard.scheduler.dag import start_waves
from dockyard.v1 import control_pb2, control_pb2_grpc, objects_pb2, specs_pb2

_APPLY_ATTEMPTS = 5
T = TypeVar("T")


class Liveness(Protocol):
    """What the Control API asks of the sessions this replica holds."""

    def last_heartbeat_ms(self, node: str) -> int: ...

    def forget(self, node: str) -> None: ...


class ControlService(FilesApi, control_pb2_grpc.ControlServicer):
    """Serves the CLI. Reads go to etcd directly, so they see every committed write."""

    def __init__(
        self,
        store: EtcdStore,
        *,
        on_change: Callable[[], None],
        liveness: Liveness | None = None,
        tokens: TokenKeeper | None = None,
        logs: LogBroker | None = None,
        allow: frozenset[str] = frozenset(),
        limits: rules.Limits = rules.DEFAULT_LIMITS,
        files: FileStore | None = None,
        console: console_auth.Access | None = None,
        registry: str = "",
        builds: BuildBroker | None = None,
        view: Callable[[], ClusterView] | None = None,
    ) -> None:
        self._registry = registry  # `server --registry`: where built images go
        self._builds = builds
        self._view = view
        self._files = files or FileStore(store, None)  # secrets and configs (controlplane/files)
        self._console = console  # console tokens' key and the HTTP port (console/auth.py)
        self._allow = allow  # privileges the whole cluster grants (`server --allow`)
        self._limits = limits
        self._tokens = tokens
        self._store = store
        self._on_change = on_change
        self._liveness = liveness
        self._logs = logs

    async def Apply(
        self, request: control_pb2.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ApplyResponse:
        started = time.perf_counter()
        spec = request.spec
        problem = app_problem(spec, self._limits)
        if problem:
            await _refuse(context, problem)
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
            await _refuse(context, problem)
        response = await self._apply(spec, context, allow=list(request.allow), source="apply",
                                     dry_run=request.dry_run)
        APPLY_SECONDS.observe(time.perf_counter() - started)
        return response

    async def _apply(self, spec: specs_pb2.AppSpec, context: grpc.aio.ServicerContext, *,
                     allow: list[str], source: str, rolling_back: bool = False,
                     dry_run: bool = False) -> control_pb2.ApplyResponse:
        """Store an admitted spec (an apply, or a rollback to a kept version)."""
        for _ in range(_APPLY_ATTEMPTS):
            try:
                result = await self._guard(context, self._apply_once(
                    spec, allow=allow, source=source, rolling_back=rolling_back,
                    dry_run=dry_run))
            except _Refused as exc:
                await _refuse(context, str(exc))
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
        if dry_run:  # judged like an apply, and nothing stored
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

    async def GetApp(
        self, request: control_pb2.GetAppRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.App:
        await _refuse(context, admission.name_problem("app", request.name))
        app = await self._guard(context, typed.read_app(self._store, request.name))
        if app is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no app named {request.name!r}")
        return app

    async def ListApps(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListAppsResponse:
        await _refuse(context, admission.name_problem("app", request.app, optional=True))
        apps = await self._guard(context, typed.list_apps(self._store))
        if request.app:
            apps = [a for a in apps if a.meta.id == request.app]
        services = await self._guard(context, typed.list_services(self._store, request.app))
        return control_pb2.ListAppsResponse(apps=apps, services=services)

    async def ListServices(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListServicesResponse:
        await _refuse(context, admission.name_problem("app", request.app, optional=True))
        services = await self._guard(context, typed.list_services(self._store, request.app))
        return control_pb2.ListServicesResponse(services=services)

    async def ListTasks(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListTasksResponse:
        await _refuse(context, admission.name_problem("app", request.app, optional=True))
        tasks = await self._guard(context, typed.list_tasks(self._store, request.app))
        return control_pb2.ListTasksResponse(tasks=tasks)

    async def ListNodes(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListNodesResponse:
        nodes = await self._guard(context, typed.list_nodes(self._store))
        if self._liveness is not None:  # kept in memory by the replica holding the session
            for n in nodes:
                n.last_heartbeat_ms = max(n.last_heartbeat_ms,
                                          self._liveness.last_heartbeat_ms(n.meta.id))
        return control_pb2.ListNodesResponse(nodes=nodes)

    async def DescribeApp(
        self, request: control_pb2.GetAppRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.AppDescription:
        app = await self.GetApp(request, context)
        name = request.name
        services = await self._guard(context, typed.list_services(self._store, name))
        tasks = await self._guard(context, typed.list_tasks(self._store, name))
        events = await self._guard(context, typed.list_events(self._store, name))
        waves = start_waves(
            {s.name: [d.service for d in s.depends_on] for s in app.spec.services}
        )
        return control_pb2.AppDescription(
            app=app,
            services=services,
            tasks=tasks,
            events=events,
            waves=[control_pb2.Wave(services=w) for w in waves],
        )

    async def DeleteApp(
        self, request: control_pb2.DeleteAppRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.DeleteAppResponse:
        name = request.name
        await _refuse(context, admission.name_problem("app", name))
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
        await _refuse(context, admission.name_problem("app", request.app)
                      or admission.name_problem("service", request.service))
        if request.replicas < 0:
            await _refuse(context, f"replicas must not be negative, got {request.replicas}")
        if request.replicas > 0:  # scaling to zero always works: it needs no total
            services = await self._guard(context, typed.list_services(self._store, ""))
            await _refuse(context, admission.scale_problem(
                request.app, request.service, request.replicas, services=services,
                limits=self._limits))
        key = keys.service_key(request.app, request.service)
        for _ in range(_APPLY_ATTEMPTS):
            entry = await self._guard(context, self._store.get(key))
            if entry is None:
                await _abort(context, grpc.StatusCode.NOT_FOUND,
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

    async def SetAvailability(
        self, request: control_pb2.SetAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        await _refuse(context,
                      admission.node_request_problem(request.node, request.availability))
        key = keys.node_key(request.node)
        for _ in range(_APPLY_ATTEMPTS):
            entry = await self._guard(context, self._store.get(key))
            if entry is None:
                await _abort(context, grpc.StatusCode.NOT_FOUND, f"no node named {request.node!r}")
            node = decode(objects_pb2.Node, entry.value)
            node.availability = request.availability
            node.drain_force = request.force and request.availability == objects_pb2.DRAIN
            commit = Commit(expect={key: entry.mod_revision}, puts={key: encode(node)})
            if request.availability == objects_pb2.DRAIN and not request.force:
                await self._guard(context, volumes.drain_events(self._store, node.meta.id,
                                                                commit))
            if await self._guard(context, self._store.commit(commit)):
                self._on_change()
                return node
        await context.abort(grpc.StatusCode.ABORTED, "node kept changing; retry")
        raise AssertionError("unreachable")

    async def RemoveNode(
        self, request: control_pb2.RemoveNodeRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.RemoveNodeResponse:
        """Forget a node that is down, so its name may join again; refused while its
        liveness key (the lease its heartbeats keep) exists."""
        name = request.node
        key = keys.node_key(name)
        entry = await self._guard(context, self._store.get(key))
        if entry is None:
            return control_pb2.RemoveNodeResponse(removed=False)
        if await self._guard(context, self._store.get(keys.alive_key(name))) is not None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"node {name} is alive (its agent is heartbeating); stop its agent and wait "
                "until `dockyard get nodes` shows it down, or drain it instead")
        now = typed.now_ms()
        ev_key, ev_value = event_entry(app="", kind="node", obj=name, message="removed",
                                       now_ms=now)
        subnet = decode(objects_pb2.Node, entry.value).subnet
        freed = [keys.subnet_key(claim_name(subnet))] if subnet else []  # the node's /24
        commit = Commit(expect={key: entry.mod_revision, keys.alive_key(name): 0},
                        puts={ev_key: ev_value}, deletes=[key, *freed])
        if not await self._guard(context, self._store.commit(commit)):
            await context.abort(grpc.StatusCode.ABORTED,
                                f"node {name} changed (did its agent come back?); retry")
        if self._liveness is not None:
            self._liveness.forget(name)
        self._on_change()
        return control_pb2.RemoveNodeResponse(removed=True)

    async def Watch(
        self, request: control_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[objects_pb2.Event]:
        await _refuse(context, admission.name_problem("app", request.app, optional=True))
        prefix = keys.events_prefix(request.app) if request.app else keys.EVENTS
        if request.history:
            stored, revision = await self._guard(context, self._store.get_prefix(prefix))
            for event in stored_events(stored):
                yield event
            if request.stop_after_history:
                return
        else:
            _, revision = await self._guard(context, self._store.get_prefix(keys.cluster_key("")))
        async for change in self._store.watch_prefix(prefix, start_revision=revision + 1):
            if change.value is not None:
                yield decode(objects_pb2.Event, change.value)

    async def Logs(
        self, request: control_pb2.LogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.LogChunk]:
        await _refuse(context, admission.logs_request_problem(
            request.app, request.service, request.slot, request.tail))
        if self._logs is None:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "logs are not served here")
        tasks = await self._guard(context, typed.list_tasks(self._store, request.app))
        wanted = [t for t in tasks if t.service == request.service and t.node
                  and (not request.slot or t.slot == request.slot)
                  and t.status.container_id]
        if not wanted:
            await _abort(context, grpc.StatusCode.NOT_FOUND,
                         f"no container of {request.app}/{request.service}"
                         + (f" slot {request.slot}" if request.slot else "") + " to read")
        by_node: dict[str, list[str]] = {}
        info = {t.meta.id: t for t in wanted}
        for t in wanted:
            if self._logs.reachable(t.node):
                by_node.setdefault(t.node, []).append(t.meta.id)
            else:
                yield control_pb2.LogChunk(
                    task_id=t.meta.id, service=t.service, slot=t.slot, node=t.node,
                    notice=f"node {t.node} has no session with this control-plane replica")
        if not by_node:
            return
        sub = self._logs.subscribe(by_node, follow=request.follow, tail=request.tail or -1)
        try:
            while sub.pending:
                msg = await sub.queue.get()
                t = info[msg.task_id]
                if msg.data:
                    yield control_pb2.LogChunk(task_id=t.meta.id, service=t.service,
                                               slot=t.slot, node=t.node, data=msg.data)
                if msg.error:
                    yield control_pb2.LogChunk(task_id=t.meta.id, service=t.service,
                                               slot=t.slot, node=t.node, notice=msg.error)
                if msg.done:
                    sub.pending.discard(msg.task_id)
        finally:
            self._logs.close(sub)

    async def Exec(
        self, request_iterator: AsyncIterator[control_pb2.ExecInput],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[control_pb2.ExecOutput]:
        inputs = aiter(request_iterator)
        try:
            first = await anext(inputs)
        except StopAsyncIteration:
            return
        if not first.HasField("start"):
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                         "an exec's first message says what to run (start)")
        await _refuse(context, admission.exec_problem(first.start))
        if self._logs is None:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "exec is not served here")
        tasks = await self._guard(context, typed.list_tasks(self._store, first.start.app))
        async for out in caller_stream(inputs, context, tasks=tasks, start=first.start,
                                       broker=self._logs):
            yield out

    async def JoinToken(
        self, request: control_pb2.JoinTokenRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.JoinTokenResponse:
        if request.role not in ("", "agent"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"no join token for role {request.role!r} (try: agent)")
        if self._tokens is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server has no join token")
            raise AssertionError("unreachable")
        if request.rotate:
            token = await self._guard(context, self._tokens.rotate())
        else:
            token = self._tokens.token
        return control_pb2.JoinTokenResponse(token=token)

    async def History(
        self, request: control_pb2.HistoryRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.HistoryResponse:
        await _refuse(context, admission.name_problem("app", request.app))
        versions = await self._guard(context, typed.list_versions(self._store, request.app))
        if not versions:
            await _abort(context, grpc.StatusCode.NOT_FOUND,
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
        await _refuse(context, admission.name_problem("app", request.app))
        if request.to < 0:
            await _refuse(context, f"version must not be negative, got {request.to}")
        app = await self._guard(context, typed.read_app(self._store, request.app))
        if app is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no app named {request.app!r}")
        versions = await self._guard(context, typed.list_versions(self._store, request.app))
        target = history.rollback_target(versions, app=request.app, latest=app.version,
                                         to=request.to)
        if isinstance(target, str):
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, target)
        spec, problem = history.restore_files(target.spec, app.spec)
        if problem:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, problem)
        problem = app_problem(spec, self._limits) or privilege_problem(
            spec, self._allow | set(target.allow))
        if problem is None:
            nodes = await self._guard(context, typed.list_nodes(self._store))
            services = await self._guard(context, typed.list_services(self._store, ""))
            problem = admission.admit(spec, nodes, limits=self._limits, services=services)
        if problem:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION,
                         f"version {target.number} cannot be applied again: {problem}")
        return await self._apply(spec, context, allow=list(target.allow),
                                 source=f"rollback to {target.number}", rolling_back=True)
    async def ClusterInfo(
        self, request: control_pb2.ClusterInfoRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ClusterInfoResponse:
        return control_pb2.ClusterInfoResponse(registry=self._registry)

    async def Build(
        self, request_iterator: AsyncIterator[control_pb2.BuildUpload],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[control_pb2.BuildOutput]:
        if self._builds is None or self._view is None:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "builds are not served here")
            return
        async for out in relay_build(self._builds, self._view, request_iterator, context):
            yield out

    async def ListVolumes(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListVolumesResponse:
        await _refuse(context, admission.name_problem("app", request.app, optional=True))
        return await self._guard(context, volumes.list_volumes(self._store, request.app))

    async def ForgetVolume(
        self, request: control_pb2.ForgetVolumeRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ForgetVolumeResponse:
        await _refuse(context, volumes.request_problem(request.app, request.volume))
        try:
            node = await self._guard(context, volumes.forget(self._store, request.app,
                                                             request.volume))
        except volumes.VolumeRefused as exc:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        self._on_change()
        return control_pb2.ForgetVolumeResponse(node=node)

    async def ConsoleToken(
        self, request: control_pb2.ConsoleTokenRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ConsoleTokenResponse:
        ttl_s = int(request.ttl_s) or console_auth.DEFAULT_TTL_S
        await _refuse(context, console_auth.ttl_problem(ttl_s))
        if self._console is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server has no console")
            raise AssertionError("unreachable")
        now_s = int(time.time())
        token = console_auth.make_token(self._console.key, now_s=now_s, ttl_s=ttl_s,
                                        nonce=secrets.token_hex(8))
        return control_pb2.ConsoleTokenResponse(
            token=token, expires_s=now_s + ttl_s, http_listen=self._console.http_listen,
            https=self._console.https)

    async def _guard(self, context: grpc.aio.ServicerContext, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None


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


async def _abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str
) -> NoReturn:
    """End the rpc with `code`; never returns (the type says so, unlike context.abort)."""
    await context.abort(code, message)
    raise AssertionError("unreachable")


class _Refused(Exception):
    """An apply that would break a limit only visible once its writes are known."""


async def _refuse(context: grpc.aio.ServicerContext, problem: str | None) -> None:
    """End the rpc with INVALID_ARGUMENT and `problem` when there is one."""
    if problem:
        await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
