"""The task reconciler: which tasks to create, start, remove and delete. Pure.

For every service it keeps exactly `replicas` live tasks, one per slot, each made from
the service's current spec; it starts a service's tasks only when its health gate opens;
it replaces tasks lost with their node; and it removes the tasks of deleted services in
reverse dependency order (a service stops only after the services that need it).

Creation is bounded: a round creates at most `Work.create_budget` new tasks (10,000 by
default), and a service that needs more gets the rest in later rounds (the Decision says
`unfinished`). No request makes one round grow without bound, and a delete or a scale
to zero is decided in the very next round.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable

from dockyard.common.spec.rules import TASKS_CREATED_PER_ROUND
from dockyard.controlplane.desired import service_hash
from dockyard.controlplane.reconcile import updates
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.gates import ServiceHealth, gate, has_healthcheck, observe
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import held_volume
from dockyard.v1 import objects_pb2

LIVE = {objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING}
TERMINAL = {objects_pb2.SHUTDOWN, objects_pb2.COMPLETE, objects_pb2.FAILED}


class Work:
    """Copies of the tasks a round changes, so each task is written once per round, and
    how many more tasks this round may still create."""

    def __init__(self, view: ClusterView, *, create_budget: int = TASKS_CREATED_PER_ROUND
                 ) -> None:
        self.view = view
        self.create_budget = create_budget
        self.changed: dict[str, objects_pb2.Task] = {}
        self.created: dict[str, objects_pb2.Task] = {}
        self.deleted: dict[str, objects_pb2.Task] = {}
        # Nodes neither down nor drained: a task on one is neither lost nor moved off,
        # which a round over ten thousand tasks need not ask of each.
        self.settled = {name for name, n in view.nodes.items()
                        if n.state != objects_pb2.NODE_DOWN and n.availability != objects_pb2.DRAIN}

    def task(self, task_id: str) -> objects_pb2.Task:
        if task_id in self.created:
            return self.created[task_id]
        if task_id not in self.changed:
            copy = objects_pb2.Task()
            copy.CopyFrom(self.view.tasks[task_id])
            self.changed[task_id] = copy
        return self.changed[task_id]

    def peek(self, task_id: str) -> objects_pb2.Task:
        """The task as it stands now, without marking it changed."""
        return self.created.get(task_id) or self.changed.get(task_id) or self.view.tasks[task_id]

    def current(self) -> Iterable[objects_pb2.Task]:
        """Every task as it stands after this round's changes so far."""
        for tid, t in self.view.tasks.items():
            if tid not in self.deleted:
                yield self.changed.get(tid, t)
        yield from self.created.values()


def _service_key(task: objects_pb2.Task) -> str:
    return f"{task.app}/{task.service}"


def reconcile_tasks(
    *, view: ClusterView, work: Work, now_ms: int, new_id: Callable[[], str], decision: Decision,
    apps: Collection[str] | None = None,
) -> None:
    """Every service's tasks, or only those of `apps` (what changed since the last
    round: everything a service's tasks depend on lies inside its own app)."""
    by_service: dict[str, list[objects_pb2.Task]] = defaultdict(list)
    tasks = list(tasks_in(view, apps))
    for t in tasks:
        by_service[_service_key(t)].append(t)
    services = services_in(view, apps)

    health = _observe_all(services, view, by_service)
    for key, svc in services.items():
        _reconcile_service(
            view=view,
            work=work,
            svc=svc,
            tasks=by_service.get(key, []),
            health_of=health.get(svc.app, {}),
            now_ms=now_ms,
            new_id=new_id,
            decision=decision,
        )
    _remove_orphaned_services(view=view, work=work, by_service=by_service, decision=decision,
                              now_ms=now_ms)
    _delete_finished(view=view, work=work, tids=[t.meta.id for t in tasks])


def tasks_in(view: ClusterView, apps: Collection[str] | None) -> Iterable[objects_pb2.Task]:
    """Every task, or the tasks of `apps` (from the view's index). Pure."""
    if apps is None:
        return view.tasks.values()
    return [t for app in apps for t in view.by_app.get(app, {}).values()]


def services_in(view: ClusterView, apps: Collection[str] | None
                ) -> dict[str, objects_pb2.Service]:
    """Every service, or the services of `apps`, by "app/name". Pure."""
    if apps is None:
        return view.services
    keys = (f"{app}/{name}" for app in apps for name in view.service_names.get(app, ()))
    return {k: view.services[k] for k in keys if k in view.services}


def _observe_all(
    services: dict[str, objects_pb2.Service], view: ClusterView,
    by_service: dict[str, list[objects_pb2.Task]]
) -> dict[str, dict[str, ServiceHealth]]:
    out: dict[str, dict[str, ServiceHealth]] = defaultdict(dict)
    for key, svc in services.items():
        live = [
            view.status_of(t.meta.id)
            for t in by_service.get(key, [])
            if t.desired_state in LIVE and t.spec_hash == svc.spec_hash
        ]
        out[svc.app][svc.spec.name] = observe(svc.spec, live)
    return out


def _node_lost(view: ClusterView, task: objects_pb2.Task) -> bool:
    node = view.nodes.get(task.node)
    return bool(task.node) and (node is None or node.state == objects_pb2.NODE_DOWN)


def _drained(view: ClusterView, task: objects_pb2.Task) -> bool:
    """On a drained node, to move off: all but a task holding a node-local volume there
    (nowhere else has its data), unless the drain was forced."""
    node = view.nodes.get(task.node)
    if node is None or node.availability != objects_pb2.DRAIN:
        return False
    return node.drain_force or not held_volume(task, app=view.apps.get(task.app),
                                               volumes=view.volumes)


def _reconcile_service(
    *,
    view: ClusterView,
    work: Work,
    svc: objects_pb2.Service,
    tasks: list[objects_pb2.Task],
    health_of: dict[str, ServiceHealth],
    now_ms: int,
    new_id: Callable[[], str],
    decision: Decision,
) -> None:
    app, name = svc.app, svc.spec.name
    waiting = gate(svc.spec, health_of)
    def new_task(slot: int) -> objects_pb2.Task:
        task = fresh_task(svc, slot, now_ms=now_ms, new_id=new_id, waiting=waiting is not None)
        work.created[task.meta.id] = task
        work.create_budget -= 1
        return task

    def remove(t: objects_pb2.Task) -> None:
        work.task(t.meta.id).desired_state = objects_pb2.DESIRED_REMOVE

    by_slot: dict[int, objects_pb2.Task] = {}  # the task that serves each slot
    beside: dict[int, objects_pb2.Task] = {}  # start-first: its replacement, starting
    restarts = waiting is None and any(d.restart for d in svc.spec.depends_on)
    for t in sorted(tasks, key=lambda t: t.meta.created_ms):
        if t.desired_state not in LIVE:
            continue
        settled = t.node in work.settled
        if not settled and _node_lost(view, t):
            remove(t)
            decision.note(app=app, kind="task", obj=t.meta.id, now_ms=now_ms,
                          message=f"{name}.{t.slot} lost with node {t.node}; replacing")
            continue
        if not settled and _drained(view, t):
            remove(t)
            decision.note(app=app, kind="task", obj=t.meta.id, now_ms=now_ms,
                          message=f"moving {name}.{t.slot} off drained node {t.node}")
            continue
        restarted = restarts and _restarted_dependency(svc, view.status_of(t.meta.id),
                                                       health_of)
        if restarted:
            remove(t)
            decision.note(app=app, kind="task", obj=t.meta.id, now_ms=now_ms,
                          message=f"restarting {name}.{t.slot}: {restarted} restarted")
            continue
        held = by_slot.get(t.slot)
        if held is None:
            by_slot[t.slot] = t
        elif (held.spec_hash != svc.spec_hash and t.spec_hash == svc.spec_hash
              and t.slot not in beside):
            beside[t.slot] = t
        else:
            remove(t)  # a duplicate of its slot
    verdict, short = _roll(svc=svc, view=view, by_slot=by_slot, beside=beside,
                           new_task=new_task, remove=remove, room=work.create_budget,
                           now_ms=now_ms)
    if short:
        decision.unfinished = True
    if verdict.event:
        decision.note(app=app, kind="service", obj=svc.meta.id, message=verdict.event,
                      now_ms=now_ms)
    if verdict.rollback:
        decision.update_services.append(rolled_back(svc, verdict.update))
        return  # the next round replaces the tasks, per rollback_config
    excess = len(by_slot) - svc.spec.replicas
    if excess > 0:
        for t in scale_down_order(list(by_slot.values()), view)[:excess]:
            remove(t)
            del by_slot[t.slot]
            if t.slot in beside:
                remove(beside.pop(t.slot))
    for t in [*by_slot.values(), *beside.values()]:
        if waiting is None and t.desired_state == objects_pb2.DESIRED_READY:
            work.task(t.meta.id).desired_state = objects_pb2.DESIRED_RUNNING
    free = (s for s in itertools.count(1) if s not in by_slot)
    missing = max(0, svc.spec.replicas - len(by_slot))
    if missing > work.create_budget:
        decision.unfinished = True  # the rest in the next rounds
    for slot in itertools.islice(free, max(0, min(missing, work.create_budget))):
        new_task(slot)
    changed = service_with(svc, health_of.get(name), waiting=waiting, update=verdict.update)
    if changed is not None:
        decision.update_services.append(changed)
        if waiting and waiting != svc.status.waiting_on:
            decision.note(app=app, kind="service", obj=svc.meta.id, message=waiting,
                          now_ms=now_ms)


def fresh_task(svc: objects_pb2.Service, slot: int, *, now_ms: int,
               new_id: Callable[[], str], waiting: bool = False) -> objects_pb2.Task:
    """A new task of `svc`'s current spec for `slot`: desired running, or only ready
    while the service's gate is closed (`waiting`). Pure but for `new_id`."""
    task = objects_pb2.Task(
        app=svc.app, service=svc.spec.name, slot=slot, spec=svc.spec,
        spec_hash=svc.spec_hash, network=svc.app,
        desired_state=objects_pb2.DESIRED_READY if waiting else objects_pb2.DESIRED_RUNNING,
    )
    task.meta.id = new_id()
    task.meta.created_ms = task.meta.updated_ms = now_ms
    return task


def service_with(svc: objects_pb2.Service, h: ServiceHealth | None, *, waiting: str | None,
                 update: objects_pb2.UpdateStatus) -> objects_pb2.Service | None:
    """A copy of `svc` showing its counts `h`, what it waits on and its update's state,
    or None when it shows those already. Pure."""
    status = objects_pb2.ServiceStatus(
        running=h.running if h else 0, healthy=h.healthy if h else 0, waiting_on=waiting or ""
    )
    if status == svc.status and update == svc.update:
        return None
    changed = objects_pb2.Service()
    changed.CopyFrom(svc)
    changed.status.CopyFrom(status)
    changed.update.CopyFrom(update)
    return changed


def rolled_back(svc: objects_pb2.Service, update: objects_pb2.UpdateStatus
                ) -> objects_pb2.Service:
    """The service with its previous spec back, and the failed one kept as the previous
    (a later apply replaces both). Pure."""
    changed = objects_pb2.Service()
    changed.CopyFrom(svc)
    changed.spec.CopyFrom(svc.previous_spec)
    changed.spec.replicas = svc.spec.replicas  # a rollback changes versions, not the count
    changed.spec_hash = service_hash(changed.spec)
    changed.previous_spec.CopyFrom(svc.spec)
    changed.update.CopyFrom(update)
    return changed


def ready(view: ClusterView, task: objects_pb2.Task) -> bool:
    """Running, and healthy when the service has a healthcheck."""
    st = view.status_of(task.meta.id)
    if st.state != objects_pb2.RUNNING:
        return False
    return not has_healthcheck(task.spec) or st.health == objects_pb2.HEALTH_HEALTHY


def _roll(
    *,
    svc: objects_pb2.Service,
    view: ClusterView,
    by_slot: dict[int, objects_pb2.Task],
    beside: dict[int, objects_pb2.Task],
    new_task: Callable[[int], objects_pb2.Task],
    remove: Callable[[objects_pb2.Task], None],
    room: int,
    now_ms: int,
) -> tuple[updates.Verdict, bool]:
    """A rolling update, per `update_config` (`updates.judge` decides how many slots may
    change now and whether the update failed): each slot stop-first (old task out, then
    the new one) or start-first (the new one beside the old until it is ready).
    Start-first creates at most `room` tasks; the bool is True when that held slots back
    for the next round."""
    for slot, t in list(beside.items()):
        if ready(view, t):
            remove(by_slot[slot])
            by_slot[slot] = beside.pop(slot)
    outdated = sorted(s for s, t in by_slot.items()
                      if t.spec_hash != svc.spec_hash and s not in beside)
    rolling_back = svc.update.state == objects_pb2.ROLLING_BACK
    policy = updates.policy_for(svc.spec, rolling_back=rolling_back)
    check = has_healthcheck(svc.spec)
    # With no update running and no slot outdated, the verdict does not read the new
    # tasks: a service of ten thousand replicas at rest is not looked at task by task.
    idle = not outdated and svc.update.state not in updates.RUNNING_STATES
    new = [] if idle else [
        updates.new_task(t, view.status_of(t.meta.id), has_healthcheck=check)
        for t in [*by_slot.values(), *beside.values()] if t.spec_hash == svc.spec_hash]
    verdict = updates.judge(
        service=svc.spec.name, policy=policy, update=svc.update, replicas=svc.spec.replicas,
        new=new, outdated=len(outdated), spec_hash=svc.spec_hash,
        can_roll_back=svc.HasField("previous_spec"), now_ms=now_ms)
    budget = verdict.start
    start_first = policy.order == "start-first"
    held = start_first and budget > max(0, room)
    if start_first:
        budget = min(budget, max(0, room))
    for slot in outdated[:budget]:
        if start_first:
            beside[slot] = new_task(slot)
        else:
            remove(by_slot.pop(slot))
    return verdict, held


def scale_down_order(
    tasks: list[objects_pb2.Task], view: ClusterView
) -> list[objects_pb2.Task]:
    """Which tasks go first when a service shrinks: unhealthy or failed ones, then the
    newest (highest slot first among equals)."""

    def key(t: objects_pb2.Task) -> tuple[int, int, int]:
        st = view.status_of(t.meta.id)
        sick = st.health == objects_pb2.HEALTH_UNHEALTHY or st.state == objects_pb2.FAILED
        return (0 if sick else 1, -t.meta.created_ms, -t.slot)

    return sorted(tasks, key=key)


def _restarted_dependency(
    svc: objects_pb2.Service,
    status: objects_pb2.TaskStatus,
    health_of: dict[str, ServiceHealth],
) -> str | None:
    """The `restart: true` dependency that started again after this task did, if any."""
    if not status.started_ms:
        return None
    for dep in svc.spec.depends_on:
        h = health_of.get(dep.service)
        if dep.restart and h is not None and h.latest_start_ms > status.started_ms:
            return str(dep.service)
    return None


def _remove_orphaned_services(
    *,
    view: ClusterView,
    work: Work,
    by_service: dict[str, list[objects_pb2.Task]],
    decision: Decision,
    now_ms: int,
) -> None:
    """Tasks whose service is gone stop in reverse dependency order."""
    gone = {k for k in by_service if k not in view.services}
    if not gone:
        return
    # A gone service may stop once no live task depends on it (dependencies lie inside
    # an app, so the tasks of the gone services' apps are enough).
    needed: set[str] = set()
    gone_apps = {k.partition("/")[0] for k in gone}
    for t in (t for k, ts in by_service.items() if k.partition("/")[0] in gone_apps
              for t in ts):
        stopped = view.status_of(t.meta.id).state in TERMINAL or not t.node
        if not stopped and not _node_lost(view, t):
            for dep in t.spec.depends_on:
                needed.add(f"{t.app}/{dep.service}")
    for key in sorted(gone):
        if key in needed:
            continue
        stopping = [t for t in by_service[key] if t.desired_state in LIVE]
        for t in stopping:
            work.task(t.meta.id).desired_state = objects_pb2.DESIRED_REMOVE
        if stopping:
            app, _, svc = key.partition("/")
            decision.note(app=app, kind="service", obj=key, message=f"stopping {svc}",
                          now_ms=now_ms)


def _delete_finished(*, view: ClusterView, work: Work, tids: Iterable[str]) -> None:
    """Tasks meant to go are deleted once stopped, never placed, or their node is lost."""
    for tid in tids:
        t = work.changed.get(tid, view.tasks[tid])
        if t.desired_state not in (objects_pb2.DESIRED_REMOVE, objects_pb2.DESIRED_SHUTDOWN):
            continue
        state = view.status_of(tid).state
        if not t.node or state in TERMINAL or _node_lost(view, t):
            work.deleted[tid] = t
            work.changed.pop(tid, None)
