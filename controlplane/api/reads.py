"""The Control rpcs that only read: GetApp, DescribeApp, the List* calls, ClusterInfo.

A CLI call sees every write committed before it, whichever replica took that write.
The List calls and DescribeApp answer from this replica's mirror once it has applied
every change up to etcd's current revision (api/viewreads.py: one empty read to learn
it, then a bounded wait of milliseconds), and from etcd when the mirror is out of sync
or late: reading 10,000 tasks and their statuses from etcd and decoding them cost
0.4-1 s per `get tasks`, copying them from the mirror about 0.05 s. Kept apart from the
writes because reads are the calls that must stay cheap at scale.
"""

from __future__ import annotations

import grpc

from dockyard.common.taskrows import tasks_text
from dockyard.controlplane import admission
from dockyard.controlplane.api import tasklist, viewreads, volumes
from dockyard.controlplane.api.base import ControlBase, abort, refuse
from dockyard.controlplane.store import typed
from dockyard.controlplane.view import ClusterView
from dockyard.scheduler.dag import start_waves
from dockyard.v1 import control_pb2, objects_pb2


class Reads(ControlBase):
    """GetApp, ListApps, ListServices, ListTasks, ListNodes, DescribeApp, ListVolumes and
    ClusterInfo (see control.proto)."""

    async def _fresh(self, context: grpc.aio.ServicerContext) -> ClusterView | None:
        """The mirror's view if it holds every write committed so far, else None."""
        return await self._guard(context, viewreads.fresh_view(self._store, self._mirror))

    async def GetApp(
        self, request: control_pb2.GetAppRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.App:
        await refuse(context, admission.name_problem("app", request.name))
        app = await self._guard(context, typed.read_app(self._store, request.name))
        if app is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no app named {request.name!r}")
        return app

    async def ListApps(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListAppsResponse:
        await refuse(context, admission.name_problem("app", request.app, optional=True))
        view = await self._fresh(context)
        if view is not None:
            return viewreads.apps_response(view, request.app)
        apps = await self._guard(context, typed.list_apps(self._store))
        if request.app:
            apps = [a for a in apps if a.meta.id == request.app]
        services = await self._guard(context, typed.list_services(self._store, request.app))
        return control_pb2.ListAppsResponse(apps=apps, services=services)

    async def ListServices(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListServicesResponse:
        await refuse(context, admission.name_problem("app", request.app, optional=True))
        view = await self._fresh(context)
        if view is not None:
            return control_pb2.ListServicesResponse(
                services=viewreads.services_of(view, request.app))
        services = await self._guard(context, typed.list_services(self._store, request.app))
        return control_pb2.ListServicesResponse(services=services)

    async def ListTasks(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListTasksResponse | bytes:
        await refuse(context, admission.name_problem("app", request.app, optional=True))
        view = await self._fresh(context)
        if view is not None and request.json_rows:  # the CLI's text (api/tasklist.py)
            return self._task_parts.json_rows(view, request.app)
        if view is not None:  # serialized already (api/tasklist.py)
            return self._task_parts.answer(view, request.app, is_brief=request.brief)
        tasks = await self._guard(context, typed.list_tasks(self._store, request.app))
        if request.json_rows:
            return tasklist.json_answer(tasks_text(tasks))
        if request.brief:
            tasks = [tasklist.brief(t) for t in tasks]
        return control_pb2.ListTasksResponse(tasks=tasks)

    async def ListNodes(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListNodesResponse:
        view = await self._fresh(context)
        nodes = (viewreads.nodes_of(view) if view is not None
                 else await self._guard(context, typed.list_nodes(self._store)))
        if self._liveness is not None:  # kept in memory by the replica holding the session
            for n in nodes:
                n.last_heartbeat_ms = max(n.last_heartbeat_ms,
                                          self._liveness.last_heartbeat_ms(n.meta.id))
        # From etcd, the sums would need every task: the CLI adds them up itself then.
        allocated = viewreads.allocated(view) if view is not None else {}
        return control_pb2.ListNodesResponse(nodes=nodes, allocated=allocated)

    async def DescribeApp(
        self, request: control_pb2.GetAppRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.AppDescription:
        app = await self.GetApp(request, context)
        name = request.name
        view = await self._fresh(context)
        if view is not None:
            services = viewreads.services_of(view, name)
            tasks = list(viewreads.tasks_response(view, name).tasks)
        else:
            services = await self._guard(context, typed.list_services(self._store, name))
            tasks = await self._guard(context, typed.list_tasks(self._store, name))
        events = await self._guard(context, typed.list_events(self._store, name))  # not mirrored
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

    async def ListVolumes(
        self, request: control_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ListVolumesResponse:
        await refuse(context, admission.name_problem("app", request.app, optional=True))
        return await self._guard(context, volumes.list_volumes(self._store, request.app))

    async def ClusterInfo(
        self, request: control_pb2.ClusterInfoRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ClusterInfoResponse:
        return control_pb2.ClusterInfoResponse(registry=self._registry)
