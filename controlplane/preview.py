"""Where `dockyard apply --dry-run` says each new task would run.

Why: a dry run that only says "would be created" leaves the question a user asks next,
"will it fit, and where?", to a real apply. The server answers it with the very
scheduler the leader runs (``scheduler.place``), over its in-memory view's nodes and
the tasks that hold their resources, for the tasks the apply would create: the slots a
created or scaled-up service does not have yet. Those tasks get no id and are never
stored. A rolling update's replacements are not shown: they are placed one batch at a
time as the update proceeds, each on what the previous batch left.

The leader places with the same seed (0), so on a cluster that does not change in
between, a real apply puts the new tasks where the dry run said. Services gated by
`depends_on` are placed here in the same batch as their dependencies; the leader places
them once those are healthy, on what is free then. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dockyard.controlplane.reconcile.tasks import TERMINAL
from dockyard.controlplane.snapshot import node_infos, strategy_of, task_request
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import bound_volumes
from dockyard.scheduler import place
from dockyard.v1 import control_pb2, objects_pb2

_LIVE = (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING)


@dataclass(frozen=True)
class NewTask:
    """One task the apply would create: its node, or why it would wait."""

    service: str
    slot: int
    node: str = ""
    pending: str = ""


def _holds(view: ClusterView, task: objects_pb2.Task) -> bool:
    """A placed task holds its node's resources until its container stopped (as in a
    reconcile round)."""
    if not task.node:
        return False
    return (task.desired_state in _LIVE
            or view.status_of(task.meta.id).state not in TERMINAL)


def new_slots(view: ClusterView, app: str,
              services: Iterable[objects_pb2.Service]) -> list[objects_pb2.Task]:
    """The tasks the apply would create for ``services`` (as it would store them): one per
    slot up to each service's replicas that no live task of the app has. Pure."""
    taken: dict[str, set[int]] = {}
    for task in view.tasks.values():
        if task.app == app and task.desired_state in _LIVE:
            taken.setdefault(task.service, set()).add(task.slot)
    out = []
    for svc in services:
        have = taken.get(svc.spec.name, set())
        for slot in range(1, svc.spec.replicas + 1):
            if slot not in have:
                task = objects_pb2.Task(app=app, service=svc.spec.name, slot=slot,
                                        spec=svc.spec, desired_state=objects_pb2.DESIRED_RUNNING)
                task.meta.id = f"{app}/{svc.spec.name}.{slot}"  # a name, never stored
                out.append(task)
    return out


def preview_placement(view: ClusterView, app: objects_pb2.App,
                      services: Iterable[objects_pb2.Service],
                      seed: int = 0) -> dict[str, list[NewTask]]:
    """Per service name, where each of its new tasks would run (or why it would wait),
    placed together by ``scheduler.place`` on the view's nodes, with every task that
    holds resources counted. ``app`` and ``services`` are as the apply would store them.
    Pure."""
    tasks = new_slots(view, app.meta.id, services)
    out: dict[str, list[NewTask]] = {}
    if not tasks:
        return out
    holding = [t for t in view.tasks.values() if _holds(view, t)]
    infos = node_infos(list(view.nodes.values()), holding)
    strategy = strategy_of(app.spec.strategy)
    requests = [task_request(t, strategy=strategy,
                             volumes=bound_volumes(t, app=app, volumes=view.volumes))
                for t in tasks]
    plan = place(nodes=infos, tasks=requests, seed=seed)
    node_of: Mapping[str, str] = {p.task_id: p.node for p in plan.placements}
    for task in tasks:
        tid = task.meta.id
        out.setdefault(task.service, []).append(NewTask(
            task.service, task.slot, node_of.get(tid, ""),
            "" if tid in node_of else plan.unplaced.get(tid, "fits on no node")))
    return out


def add_placements(view: ClusterView, response: control_pb2.ApplyResponse,
                   services: Iterable[objects_pb2.Service]) -> None:
    """Put, under each change of a dry run's ``response``, where its new tasks would
    run. ``services`` are those the apply would store. Pure (it fills ``response``)."""
    placed = preview_placement(view, response.app, services)
    for change in response.changes:
        for t in placed.get(change.service, []):
            change.placements.add(slot=t.slot, node=t.node, pending=t.pending)
