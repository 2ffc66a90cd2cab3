"""Hand-built protobuf objects and views for the control plane's pure modules."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from dockyard.controlplane.desired import service_hash
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2, specs_pb2

GIB = 1024**3
MIB = 1024**2


def dep(
    service: str,
    condition: int = specs_pb2.SERVICE_STARTED,
    *,
    required: bool = True,
) -> specs_pb2.Dependency:
    return specs_pb2.Dependency(service=service, condition=condition, required=required)


def spec(
    name: str,
    *,
    replicas: int = 1,
    image: str = "registry:5000/app:1",
    cpu: int = 100,
    mem: int = 64 * MIB,
    depends_on: Iterable[specs_pb2.Dependency] = (),
    healthcheck: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> specs_pb2.ServiceSpec:
    s = specs_pb2.ServiceSpec(name=name, image=image, replicas=replicas)
    s.reservations.cpu_millis = cpu
    s.reservations.memory_bytes = mem
    s.depends_on.extend(depends_on)
    if healthcheck is not None:
        s.healthcheck.test.extend(healthcheck)
    for k, v in (env or {}).items():
        s.environment[k] = v
    return s


def service(app: str, s: specs_pb2.ServiceSpec, *, version: int = 1) -> objects_pb2.Service:
    svc = objects_pb2.Service(app=app, spec=s, spec_hash=service_hash(s))
    svc.meta.id = f"{app}/{s.name}"
    svc.meta.version = version
    return svc


def app(name: str, services: Iterable[specs_pb2.ServiceSpec], *, version: int = 1,
        strategy: int = 0) -> objects_pb2.App:
    a = objects_pb2.App(spec=specs_pb2.AppSpec(name=name, services=list(services),
                                               strategy=strategy))
    a.meta.id = name
    a.meta.version = version
    return a


def node(
    name: str,
    *,
    cpu: int = 4000,
    mem: int = 8 * GIB,
    state: int = objects_pb2.NODE_READY,
    availability: int = objects_pb2.ACTIVE,
    version: int = 1,
) -> objects_pb2.Node:
    n = objects_pb2.Node(state=state, availability=availability)
    n.meta.id = name
    n.meta.version = version
    n.description.name = name
    n.description.capacity.cpu_millis = cpu
    n.description.capacity.memory_bytes = mem
    return n


def task(
    svc: objects_pb2.Service,
    slot: int,
    *,
    tid: str,
    node: str = "",
    desired: int = objects_pb2.DESIRED_RUNNING,
    created_ms: int = 1,
    version: int = 1,
    spec_hash: str | None = None,
) -> objects_pb2.Task:
    t = objects_pb2.Task(
        app=svc.app, service=svc.spec.name, slot=slot, spec=svc.spec,
        spec_hash=svc.spec_hash if spec_hash is None else spec_hash,
        node=node, desired_state=desired, network=svc.app,
    )
    t.meta.id = tid
    t.meta.version = version
    t.meta.created_ms = created_ms
    return t


def status(
    state: int = objects_pb2.RUNNING, health: int = objects_pb2.HEALTH_NONE, exit_code: int = 0
) -> objects_pb2.TaskStatus:
    return objects_pb2.TaskStatus(state=state, health=health, exit_code=exit_code)


def view_of(
    *,
    apps: Iterable[objects_pb2.App] = (),
    services: Iterable[objects_pb2.Service] = (),
    tasks: Iterable[objects_pb2.Task] = (),
    statuses: dict[str, objects_pb2.TaskStatus] | None = None,
    nodes: Iterable[objects_pb2.Node] = (),
    alive: Iterable[str] | None = None,
) -> ClusterView:
    """A view; `alive` defaults to every node whose state is NODE_READY."""
    node_list = list(nodes)
    return ClusterView(
        apps={a.meta.id: a for a in apps},
        services={s.meta.id: s for s in services},
        tasks={t.meta.id: t for t in tasks},
        statuses=dict(statuses or {}),
        nodes={n.meta.id: n for n in node_list},
        alive=set(alive) if alive is not None else {
            n.meta.id for n in node_list if n.state == objects_pb2.NODE_READY
        },
    )


def counter_ids(prefix: str = "t") -> Callable[[], str]:
    c = itertools.count(1)
    return lambda: f"{prefix}{next(c):04d}"


class Revisions:
    """A fake etcd revision counter for applying decisions to a view."""

    def __init__(self, start: int = 100) -> None:
        self._c = itertools.count(start)

    def next(self) -> int:
        return next(self._c)


def apply_decision(view: ClusterView, d: Decision, revs: Revisions) -> None:
    """What the leader's commit and the mirror's watch would do to the view."""
    for t in [*d.create_tasks, *d.update_tasks]:
        copy = objects_pb2.Task()
        copy.CopyFrom(t)
        copy.meta.version = revs.next()
        view.tasks[t.meta.id] = copy
    for t in d.delete_tasks:
        view.tasks.pop(t.meta.id, None)
        view.statuses.pop(t.meta.id, None)
    for n in d.update_nodes:
        copy = objects_pb2.Node()
        copy.CopyFrom(n)
        copy.meta.version = revs.next()
        view.nodes[n.meta.id] = copy
    for s in d.update_services:
        copy = objects_pb2.Service()
        copy.CopyFrom(s)
        copy.meta.version = revs.next()
        view.services[s.meta.id] = copy


def simulate_agents(view: ClusterView) -> None:
    """Agents on alive nodes run what is desired and stop what is removed."""
    for tid, t in view.tasks.items():
        if not t.node or t.node not in view.alive:
            continue
        if t.desired_state == objects_pb2.DESIRED_RUNNING:
            view.statuses[tid] = status(objects_pb2.RUNNING, objects_pb2.HEALTH_HEALTHY)
        elif t.desired_state == objects_pb2.DESIRED_READY:
            view.statuses[tid] = status(objects_pb2.READY)
        elif t.desired_state in (objects_pb2.DESIRED_REMOVE, objects_pb2.DESIRED_SHUTDOWN):
            view.statuses[tid] = status(objects_pb2.SHUTDOWN)


LIVE = (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING)


def live_tasks(view: ClusterView, key: str) -> list[objects_pb2.Task]:
    return [t for t in view.tasks.values()
            if f"{t.app}/{t.service}" == key and t.desired_state in LIVE]
