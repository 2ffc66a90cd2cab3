"""One reconcile round: nodes, then tasks, then placement, as one Decision. Pure (it only
reads the clock to time the scheduler, for the dockyard_placement_seconds metric).

The leader runs a round whenever the mirror changes (debounced), commits the Decision,
and the watch brings the result back for the next round: level-triggered, as in SwarmKit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from dockyard.common.spec.rules import TASKS_CREATED_PER_ROUND
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.nodes import reconcile_nodes
from dockyard.controlplane.reconcile.quiet import count_statuses
from dockyard.controlplane.reconcile.tasks import TERMINAL, Work, reconcile_tasks, tasks_in
from dockyard.controlplane.reconcile.volumes import reconcile_volumes
from dockyard.controlplane.snapshot import node_infos, strategy_of, task_request
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import bound_volumes, task_name, task_volumes
from dockyard.scheduler import TaskRequest, place
from dockyard.v1 import objects_pb2


def plan_round(
    view: ClusterView,
    *,
    now_ms: int,
    new_id: Callable[[], str],
    seed: int = 0,
    judge_nodes: bool = True,
    create_budget: int = TASKS_CREATED_PER_ROUND,
    apps: Collection[str] | None = None,
    quiet: Collection[str] = (),
) -> Decision:
    """`judge_nodes=False` marks no node down this round (a new leader's first grace);
    at most `create_budget` new tasks are made (the Decision is then `unfinished`).

    `apps` limits the round to the services and tasks of those apps (what changed since
    the last round, and the apps on the nodes that change); None looks at everything.
    Nodes are always judged, and placement always counts every task's resources.

    `quiet` are apps whose only news since their last round is task statuses: each at
    rest gets only its services' counts (`quiet.count_statuses`), the others join `apps`.
    A round of everything (`apps` None) looks at them all anyway."""
    decision = Decision()
    reconcile_nodes(nodes=view.nodes, alive=view.alive, now_ms=now_ms, decision=decision,
                    mark_down=judge_nodes)
    projected = projected_view(view, decision)
    if decision.update_nodes and apps is not None:
        apps = _with_node_apps(view, apps, {n.meta.id for n in decision.update_nodes})
    work = Work(projected, create_budget=create_budget)
    if apps is not None and quiet:
        rest = set(quiet) - set(apps)
        unsettled = count_statuses(projected, rest, settled=work.settled, decision=decision)
        decision.at_rest = rest - unsettled
        apps = {*apps, *unsettled}
    reconcile_tasks(view=projected, work=work, now_ms=now_ms, new_id=new_id, decision=decision,
                    apps=apps)
    for task in work.created.values():  # the agent makes each volume with its options
        task.volumes.extend(task_volumes(task, view.apps.get(task.app)))
    reconcile_volumes(view=projected, decision=decision, now_ms=now_ms, apps=apps)
    place_pending(projected, work, decision=decision, seed=seed, apps=apps, now_ms=now_ms)
    decision.create_tasks = list(work.created.values())
    decision.update_tasks = list(work.changed.values())
    decision.delete_tasks = list(work.deleted.values())
    return decision


def projected_view(view: ClusterView, decision: Decision) -> ClusterView:
    """The view with the round's node changes in it: they count in this very round.
    Pure."""
    return ClusterView(
        apps=view.apps, services=view.services, tasks=view.tasks, statuses=view.statuses,
        nodes={**view.nodes, **{n.meta.id: n for n in decision.update_nodes}},
        alive=view.alive, revision=view.revision, by_app=view.by_app, by_node=view.by_node,
        build_indexes=False, volumes=view.volumes, sessions=view.sessions,
        unreachable=view.unreachable,
    )


def _with_node_apps(view: ClusterView, apps: Collection[str], changed: set[str]
                    ) -> Collection[str] | None:
    """A node changed state: the tasks on it, of any app, need a look this round. The
    leader names those apps beforehand (`Leader._round`); if one is missing, the round
    looks at everything (None) rather than at part of an app. Pure."""
    on_changed = {t.app for t in view.tasks.values() if t.node in changed}
    return apps if on_changed <= set(apps) else None


def _holding(view: ClusterView, task: objects_pb2.Task) -> bool:
    """Placed tasks hold their node's resources until their container has stopped."""
    if not task.node:
        return False
    if task.desired_state in (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING):
        return True
    return view.status_of(task.meta.id).state not in TERMINAL


def requests_for(view: ClusterView, pending: Iterable[objects_pb2.Task]) -> list[TaskRequest]:
    """The scheduler's request for each task. Replicas of one spec ask the same but for
    their id: the request is made once per app, service and spec (its bytes), and copied
    with the id for the others; ten thousand replicas made it ten thousand times, a
    quarter of the round that creates them. Pure."""
    made: dict[tuple[str, str, bytes], TaskRequest] = {}
    out = []
    for t in pending:
        kind = (t.app, t.service, t.spec.SerializeToString())
        same = made.get(kind)
        if same is not None:
            out.append(replace(same, task_id=t.meta.id))
            continue
        app = view.apps.get(t.app)
        strategy = strategy_of(app.spec.strategy if app else 0)
        bound = bound_volumes(t, app=app, volumes=view.volumes)
        made[kind] = request = task_request(t, strategy=strategy, volumes=bound)
        out.append(request)
    return out


def place_pending(view: ClusterView, work: Work, *, decision: Decision, seed: int,
                   apps: Collection[str] | None, now_ms: int) -> None:
    # The round changes no task's node before this point: the tasks placed on no node
    # in the view are the only ones to peek at (a cheap test on ten thousand tasks).
    candidates = work.current() if apps is None else [
        *(work.peek(t.meta.id) for t in tasks_in(view, apps)
          if not t.node and t.meta.id not in work.deleted),
        *work.created.values()]
    pending = [
        t for t in candidates
        if not t.node and t.desired_state in (objects_pb2.DESIRED_READY,
                                              objects_pb2.DESIRED_RUNNING)
    ]
    if not pending:
        return
    holding = [t for t in work.current() if _holding(view, t)]
    infos = node_infos(list(view.nodes.values()), holding,
                       unreachable=view.unreachable_nodes())
    requests = requests_for(view, pending)
    started = time.perf_counter()
    plan = place(nodes=infos, tasks=requests, seed=seed)
    decision.placement_s = time.perf_counter() - started
    for p in plan.placements:
        task = work.task(p.task_id)
        task.node = p.node
        task.unplaced_reason = ""
        decision.placed_on[p.node] = view.nodes[p.node].meta.version
    bound_tasks = {r.task_id for r in requests if r.volumes}
    for tid, reason in plan.unplaced.items():
        if work.peek(tid).unplaced_reason != reason:
            task = work.task(tid)
            task.unplaced_reason = reason
            if tid in bound_tasks:  # few, and worth the log: where its data is
                decision.note(app=task.app, kind="task", obj=tid, now_ms=now_ms,
                              message=f"{task_name(task)} {reason}")
