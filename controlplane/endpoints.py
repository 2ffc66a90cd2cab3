"""Service discovery tables: where each service's ready tasks can be reached. Pure.

A task is ready when it runs and, if its service has a healthcheck, passes it. Each
agent gets the table of the apps it runs tasks of, and its DNS answers from it.
"""

from __future__ import annotations

from collections import defaultdict

from dockyard.controlplane.reconcile.gates import has_healthcheck
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import dispatcher_pb2, objects_pb2


def endpoints_for(view: ClusterView, apps: set[str]) -> list[dispatcher_pb2.Endpoint]:
    addresses: dict[tuple[str, str], list[str]] = defaultdict(list)
    for svc in view.services.values():
        if svc.app in apps:
            addresses[(svc.app, svc.spec.name)]
    for t in view.tasks.values():
        if t.app not in apps or t.desired_state != objects_pb2.DESIRED_RUNNING:
            continue
        st = view.status_of(t.meta.id)
        if st.state != objects_pb2.RUNNING or not st.address:
            continue
        if has_healthcheck(t.spec) and st.health != objects_pb2.HEALTH_HEALTHY:
            continue
        addresses[(t.app, t.service)].append(st.address)
    return [
        dispatcher_pb2.Endpoint(app=app, service=svc, addresses=sorted(addrs))
        for (app, svc), addrs in sorted(addresses.items())
    ]
