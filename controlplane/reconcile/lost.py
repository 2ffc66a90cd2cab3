"""A round for lost nodes alone: their tasks replaced, slot for slot, without a rescan. Pure.

When a host dies, its nodes are declared one after another over about a heartbeat
period (each node's last heartbeat has its own phase), and each declaration asks for a
round. A full round of an app reads every task of it: at ten thousand tasks, 0.25-1 s
of planning, and the next declaration's round waited for it, then for its commits,
then planned all ten thousand again. Yet a lost node whose tasks belong to services at
rest needs only this: the node marked down, each of its live tasks deleted (its node is
gone, so nothing is left to stop), a task of the service's current spec in the same
slot, and those new tasks placed. That is what a full round decides for them, and it
costs one pass over the tasks of the services concerned (to check that each slot is
held once) and the placement of the new tasks.

`plan_lost` returns None whenever the case is not that simple, and the leader runs a
full round instead: a node coming back, a service with dependencies (gates, restarts),
volumes, an update or a rollback under way, a task of an old spec or not desired
running, a slot held twice or a count that is not the service's replicas, a service or
app that is gone, more tasks than one round may create. Events are noted as a full
round notes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Container

from dockyard.common.spec.rules import TASKS_CREATED_PER_ROUND
from dockyard.controlplane.reconcile import updates
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.nodes import changing_nodes, reconcile_nodes
from dockyard.controlplane.reconcile.round import place_pending, projected_view
from dockyard.controlplane.reconcile.tasks import Work, fresh_task
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import objects_pb2

_GONE = (objects_pb2.DESIRED_REMOVE, objects_pb2.DESIRED_SHUTDOWN)


def plan_lost(
    view: ClusterView,
    *,
    now_ms: int,
    new_id: Callable[[], str],
    seed: int = 0,
    create_budget: int = TASKS_CREATED_PER_ROUND,
) -> Decision | None:
    """The Decision of a round whose only news is nodes whose liveness key went, or None
    when a full round must decide (module docstring). `view` needs the tasks of the lost
    nodes in `by_node` and the tasks of their apps in `by_app`. Pure."""
    decision = Decision()
    reconcile_nodes(nodes=view.nodes, alive=view.alive, now_ms=now_ms, decision=decision)
    down = {n.meta.id for n in decision.update_nodes}
    if not down or any(n.state != objects_pb2.NODE_DOWN for n in decision.update_nodes):
        return None
    projected = projected_view(view, decision)
    work = Work(projected, create_budget=create_budget)
    lost: dict[str, list[objects_pb2.Task]] = defaultdict(list)
    for name in sorted(down):
        for t in view.by_node.get(name, {}).values():
            if t.desired_state in _GONE:
                work.deleted[t.meta.id] = t  # meant to go, and its node is gone
            elif t.desired_state == objects_pb2.DESIRED_RUNNING:
                lost[f"{t.app}/{t.service}"].append(t)
            else:
                return None  # waiting on a gate: the full round judges it
    for key, tasks in sorted(lost.items()):
        svc = view.services.get(key)
        if svc is None or svc.app not in view.apps or not _at_rest(svc):
            return None
        kept = _kept_slots(projected, svc, lost=down, settled=work.settled)
        slots = sorted(t.slot for t in tasks)
        if (kept is None or len(set(slots)) != len(slots) or kept & set(slots)
                or len(kept) + len(slots) != svc.spec.replicas
                or max(kept | set(slots)) > svc.spec.replicas
                or any(t.spec_hash != svc.spec_hash for t in tasks)
                or len(slots) > work.create_budget):
            return None
        for t in sorted(tasks, key=lambda t: t.slot):
            work.deleted[t.meta.id] = t
            decision.note(app=svc.app, kind="task", obj=t.meta.id, now_ms=now_ms,
                          message=f"{svc.spec.name}.{t.slot} lost with node {t.node}; "
                                  "replacing")
            task = fresh_task(svc, t.slot, now_ms=now_ms, new_id=new_id)
            work.created[task.meta.id] = task
            work.create_budget -= 1
    place_pending(projected, work, decision=decision, seed=seed, apps=(), now_ms=now_ms)
    decision.create_tasks = list(work.created.values())
    decision.delete_tasks = list(work.deleted.values())
    return decision


def _at_rest(svc: objects_pb2.Service) -> bool:
    """No dependency, volume, gate or update that a full round would weigh. Pure."""
    return not (svc.spec.depends_on or svc.spec.volumes or svc.status.waiting_on
                or svc.update.state in updates.RUNNING_STATES)


def _kept_slots(view: ClusterView, svc: objects_pb2.Service, *, lost: set[str],
                settled: set[str]) -> set[int] | None:
    """The slots `svc`'s tasks hold off the lost nodes, or None when a full round has
    more to decide for it: a slot held twice, a task of an old spec, not desired
    running, or on a node down or drained. Pure."""
    slots: set[int] = set()
    for t in view.by_app.get(svc.app, {}).values():
        if t.service != svc.spec.name or t.node in lost or t.desired_state in _GONE:
            continue
        if (t.desired_state != objects_pb2.DESIRED_RUNNING or t.spec_hash != svc.spec_hash
                or (t.node and t.node not in settled) or t.slot in slots):
            return None
        slots.add(t.slot)
    return slots


def echoed(touched: Touched, echo: Container[str]) -> set[str]:
    """The apps of `touched.structure` whose only news is the leader's own task writes
    of lost-node rounds (`echo`, their task ids): no app, service or volume of theirs
    changed, and every task object the batch changed is one of `echo`. A full round of
    them would find what the lost round decided; their counts are a quiet round's work.
    Empty whenever the batch changed another task. Pure."""
    if not all(tid in echo for tid in touched.task_objects):
        return set()
    return touched.structure - touched.specs


def lost_round_fits(view: ClusterView, dirty_nodes: Collection[str], *, full: bool) -> bool:
    """Whether the next round may be a lost-node round (`plan_lost`): nothing but
    nodes going down is news (`full` says whether apps or everything are to be looked
    at), and each node that changed is one going down, or one already down with no task
    left on it (the echo of an earlier round's write). Pure."""
    if full:
        return False
    downs = changing_nodes(view.nodes, view.alive)
    if not downs or any(node in view.alive for node in downs):
        return False
    for name in dirty_nodes:
        if name in downs:
            continue
        node = view.nodes.get(name)
        if (name in view.alive or node is None or node.state != objects_pb2.NODE_DOWN
                or view.by_node.get(name)):
            return False
    return True


def lost_nodes(view: ClusterView, names: Collection[str]) -> set[str]:
    """Those of `names` whose liveness key is gone while they are still marked ready:
    the next round marks them down and replaces their tasks. Pure."""
    out = set()
    for name in names:
        node = view.nodes.get(name)
        if name not in view.alive and node is not None and node.state == objects_pb2.NODE_READY:
            out.add(name)
    return out
