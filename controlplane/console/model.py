"""The console's view model: what the page shows, built from a `ClusterView`. Pure.

The page draws only what this module hands it (JSON-ready dicts and lists): apps with
their start waves and dependency edges, services with desired/running/healthy counts,
nodes with capacity bars and the tasks they hold, and every task that waits with the
reason it waits. Keeping the shaping here, over the replica's in-memory view, means the
browser never reaches etcd and the shaping is unit-tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.controlplane.view import ClusterView
from dockyard.scheduler.dag import start_waves
from dockyard.v1 import objects_pb2

JSON = dict[str, Any]

_TASK_STATE = {v: k.lower() for k, v in objects_pb2.TaskState.items()}
_TASK_STATE[objects_pb2.TASK_STATE_UNSPECIFIED] = "pending"
_HEALTH = {
    objects_pb2.HEALTH_NONE: "",
    objects_pb2.HEALTH_STARTING: "starting",
    objects_pb2.HEALTH_HEALTHY: "healthy",
    objects_pb2.HEALTH_UNHEALTHY: "unhealthy",
}
_DESIRED = {
    objects_pb2.DESIRED_STATE_UNSPECIFIED: "",
    objects_pb2.DESIRED_READY: "ready",
    objects_pb2.DESIRED_RUNNING: "running",
    objects_pb2.DESIRED_SHUTDOWN: "shutdown",
    objects_pb2.DESIRED_REMOVE: "remove",
}
_WANTED = (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING)


def task_state(view: ClusterView, task: objects_pb2.Task) -> objects_pb2.TaskStatus:
    """The task's latest status: the agent's report if any, else what the task holds."""
    return view.statuses.get(task.meta.id) or task.status


def app_graph(app: objects_pb2.App) -> JSON:
    """An app's start waves (each a list of services that start together) and its
    dependency edges, dependency first. Pure."""
    deps = {s.name: [d.service for d in s.depends_on] for s in app.spec.services}
    return {
        "name": app.meta.id,
        "waves": [list(w) for w in start_waves(deps)],
        "edges": sorted([d, s] for s, needs in deps.items() for d in needs),
    }


def service_row(svc: objects_pb2.Service) -> JSON:
    """One service's counts and why it does not start yet, if it waits. Pure."""
    return {
        "app": svc.app,
        "name": svc.spec.name or svc.meta.id.split("/", 1)[-1],
        "image": svc.spec.image,
        "desired": int(svc.spec.replicas),
        "running": int(svc.status.running),
        "healthy": int(svc.status.healthy),
        "waiting_on": svc.status.waiting_on,
    }


def task_row(view: ClusterView, task: objects_pb2.Task) -> JSON:
    status = task_state(view, task)
    return {
        "id": task.meta.id,
        "app": task.app,
        "service": task.service,
        "slot": int(task.slot),
        "node": task.node,
        "desired": _DESIRED.get(task.desired_state, ""),
        "state": _TASK_STATE.get(status.state, "pending"),
        "health": _HEALTH.get(status.health, ""),
        "message": status.message,
    }


def wait_reason(view: ClusterView, task: objects_pb2.Task) -> str | None:
    """Why a task the control plane wants up is not up yet, or None when it is not waiting.
    The scheduler's reason for an unplaced task, the dependency a gated task waits on,
    else the agent's own line. Pure."""
    if task.desired_state not in _WANTED:
        return None
    status = task_state(view, task)
    if not task.node:
        return task.unplaced_reason or "not placed yet"
    svc = view.services.get(f"{task.app}/{task.service}")
    if task.desired_state == objects_pb2.DESIRED_READY:
        waiting = svc.status.waiting_on if svc is not None else ""
        return waiting or "waiting for its dependencies"
    if status.state == objects_pb2.RUNNING:
        return None
    return status.message or f"{_TASK_STATE.get(status.state, 'pending')} on {task.node}"


def node_row(
    view: ClusterView, node: objects_pb2.Node, tasks: list[objects_pb2.Task], *,
    heartbeat_ms: int, now_ms: int,
) -> JSON:
    """A node with its capacity, what its tasks reserve, and the tasks it holds. Pure."""
    cap = node.description.capacity
    cpu = sum(int(t.spec.reservations.cpu_millis) for t in tasks
              if t.desired_state in _WANTED)
    mem = sum(int(t.spec.reservations.memory_bytes) for t in tasks
              if t.desired_state in _WANTED)
    heard = max(heartbeat_ms, int(node.last_heartbeat_ms))
    return {
        "name": node.meta.id,
        "address": node.description.address,
        "state": "ready" if node.state == objects_pb2.NODE_READY else "down",
        "availability": "drain" if node.availability == objects_pb2.DRAIN else "active",
        "alive": node.meta.id in view.alive,
        "message": node.message,
        "cpu": {"capacity": int(cap.cpu_millis), "allocated": cpu},
        "memory": {"capacity": int(cap.memory_bytes), "allocated": mem},
        "heartbeat_age_s": round(max(0, now_ms - heard) / 1000, 1) if heard else None,
        "tasks": [task_row(view, t) for t in sorted(
            tasks, key=lambda t: (t.app, t.service, t.slot, t.meta.id))],
    }


def build(
    view: ClusterView, *, now_ms: int, heartbeat_ms: Callable[[str], int] = lambda _n: 0,
) -> JSON:
    """The whole page's model from a view: apps, services, nodes with their tasks, and
    the tasks that wait with their reasons. `heartbeat_ms(node)` is this replica's own
    last heartbeat from a node (0 if none). Pure, given a pure `heartbeat_ms`."""
    on_node: dict[str, list[objects_pb2.Task]] = {}
    waiting = []
    for t in view.tasks.values():
        if t.node and t.desired_state != objects_pb2.DESIRED_REMOVE:
            on_node.setdefault(t.node, []).append(t)
        reason = wait_reason(view, t)
        if reason is not None:
            waiting.append({**task_row(view, t), "reason": reason})
    waiting.sort(key=lambda r: (r["app"], r["service"], r["slot"], r["id"]))
    apps = [app_graph(a) for _, a in sorted(view.apps.items())]
    services = [service_row(s) for _, s in sorted(view.services.items())]
    nodes = [node_row(view, n, on_node.get(name, []), heartbeat_ms=heartbeat_ms(name),
                      now_ms=now_ms)
             for name, n in sorted(view.nodes.items())]
    return {"revision": view.revision, "apps": apps, "services": services, "nodes": nodes,
            "waiting": waiting}
