"""controlplane/reconcile/round.py: plan_round on hand-built ClusterViews."""

from __future__ import annotations

import pytest

from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import (
    GIB,
    Revisions,
    app,
    apply_decision,
    counter_ids,
    dep,
    live_tasks,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)

RUNNING = objects_pb2.DESIRED_RUNNING
READY = objects_pb2.DESIRED_READY
REMOVE = objects_pb2.DESIRED_REMOVE


def _one_app(*specs: specs_pb2.ServiceSpec, nodes=None, **kw) -> ClusterView:  # type: ignore[no-untyped-def]
    return view_of(
        apps=[app("shop", specs)],
        services=[service("shop", s) for s in specs],
        nodes=nodes if nodes is not None else [node("n1"), node("n2")],
        **kw,
    )


def test_new_app_creates_one_task_per_slot_and_places_them() -> None:
    view = _one_app(spec("web", replicas=3), spec("db", replicas=1))
    d = plan_round(view, now_ms=1000, new_id=counter_ids())
    by_service: dict[str, list[int]] = {}
    for t in d.create_tasks:
        by_service.setdefault(t.service, []).append(t.slot)
        assert t.desired_state == RUNNING
        assert t.node in ("n1", "n2")
        assert t.spec_hash == view.services[f"shop/{t.service}"].spec_hash
        assert t.network == "shop"
        assert (t.meta.created_ms, t.meta.updated_ms) == (1000, 1000)
    assert sorted(by_service["web"]) == [1, 2, 3]
    assert by_service["db"] == [1]
    assert [t.meta.id for t in d.create_tasks] == sorted(t.meta.id for t in d.create_tasks)
    assert not d.update_tasks and not d.delete_tasks and not d.update_nodes


def test_zero_replicas_creates_nothing() -> None:
    d = plan_round(_one_app(spec("web", replicas=0)), now_ms=1, new_id=counter_ids())
    assert d.create_tasks == []


def test_second_round_is_stable() -> None:
    view = _one_app(spec("db"), spec("web", replicas=2, depends_on=[dep("db")]))
    revs, ids = Revisions(), counter_ids()
    first = plan_round(view, now_ms=1000, new_id=ids)
    apply_decision(view, first, revs)
    second = plan_round(view, now_ms=2000, new_id=ids)
    assert second.create_tasks == [] and second.delete_tasks == []
    assert second.update_tasks == []
    apply_decision(view, second, revs)
    third = plan_round(view, now_ms=3000, new_id=ids)
    assert third.empty()
    assert third.events == []


def test_gate_closed_tasks_are_ready_then_flip_to_running_when_dependency_healthy() -> None:
    db = spec("db", healthcheck=["CMD", "pg_isready"])
    web = spec("web", replicas=2, depends_on=[dep("db", specs_pb2.SERVICE_HEALTHY)])
    view = _one_app(db, web)
    revs, ids = Revisions(), counter_ids()
    d = plan_round(view, now_ms=1000, new_id=ids)
    states = {(t.service, t.slot): t.desired_state for t in d.create_tasks}
    assert states == {("db", 1): RUNNING, ("web", 1): READY, ("web", 2): READY}
    web_updates = [s for s in d.update_services if s.spec.name == "web"]
    assert web_updates[0].status.waiting_on == "waiting on db: 0/1 healthy"
    assert any(e.message == "waiting on db: 0/1 healthy" for e in d.events)
    apply_decision(view, d, revs)
    (db_task,) = live_tasks(view, "shop/db")

    # running but still starting: the gate stays closed
    view.statuses[db_task.meta.id] = status(objects_pb2.RUNNING, objects_pb2.HEALTH_STARTING)
    d = plan_round(view, now_ms=2000, new_id=ids)
    assert d.update_tasks == [] and d.create_tasks == []
    apply_decision(view, d, revs)
    assert view.services["shop/web"].status.waiting_on == (
        "waiting on db: 0/1 healthy (health: starting)"
    )

    view.statuses[db_task.meta.id] = status(objects_pb2.RUNNING, objects_pb2.HEALTH_HEALTHY)
    d = plan_round(view, now_ms=3000, new_id=ids)
    assert d.create_tasks == []
    assert sorted((t.service, t.slot, t.desired_state) for t in d.update_tasks) == [
        ("web", 1, RUNNING), ("web", 2, RUNNING)
    ]
    for t in d.update_tasks:
        assert t.meta.version == view.tasks[t.meta.id].meta.version  # compared on commit
    svc = {s.spec.name: s for s in d.update_services}
    assert svc["web"].status.waiting_on == ""
    assert (svc["db"].status.running, svc["db"].status.healthy) == (1, 1)


def test_pending_tasks_never_go_to_down_or_drained_nodes() -> None:
    nodes = [
        node("down", state=objects_pb2.NODE_DOWN),
        node("drained", availability=objects_pb2.DRAIN),
        node("good"),
    ]
    view = _one_app(spec("web", replicas=3), nodes=nodes)
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert {t.node for t in d.create_tasks} == {"good"}


def test_no_ready_node_leaves_tasks_pending_with_a_reason() -> None:
    view = _one_app(spec("web", replicas=2), nodes=[node("n1", state=objects_pb2.NODE_DOWN)])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert len(d.create_tasks) == 2
    for t in d.create_tasks:
        assert t.node == ""
        assert t.unplaced_reason


def test_never_over_capacity() -> None:
    # each node fits two tasks of 1000 millis; five replicas: four placed, one pending
    nodes = [node("n1", cpu=2000), node("n2", cpu=2000)]
    view = _one_app(spec("web", replicas=5, cpu=1000), nodes=nodes)
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    placed = [t.node for t in d.create_tasks if t.node]
    assert sorted(placed) == ["n1", "n1", "n2", "n2"]
    (pending,) = [t for t in d.create_tasks if not t.node]
    assert pending.unplaced_reason


def test_existing_tasks_count_against_capacity() -> None:
    svc = service("shop", spec("web", replicas=2, cpu=1500))
    other = service("shop", spec("db", replicas=1, cpu=1500))
    running = task(other, 1, tid="db1", node="n1")
    view = view_of(apps=[app("shop", [svc.spec, other.spec])], services=[svc, other],
                   tasks=[running], statuses={"db1": status()},
                   nodes=[node("n1", cpu=2000), node("n2", cpu=2000)])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert sorted(t.node for t in d.create_tasks) == ["", "n2"]


def test_stopping_task_still_holds_its_node_until_terminal() -> None:
    svc = service("shop", spec("web", replicas=1, cpu=1500))
    stopping = task(svc, 1, tid="old", node="n1", desired=REMOVE, spec_hash="stale")
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=[stopping],
                   statuses={"old": status(objects_pb2.RUNNING)},
                   nodes=[node("n1", cpu=2000)])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    (new,) = d.create_tasks
    assert new.node == ""
    view.statuses["old"] = status(objects_pb2.SHUTDOWN)
    d = plan_round(view, now_ms=2, new_id=counter_ids("u"))
    (new,) = d.create_tasks
    assert new.node == "n1"
    assert [t.meta.id for t in d.delete_tasks] == ["old"]


def test_node_missing_from_alive_goes_down_and_its_tasks_are_replaced() -> None:
    svc = service("shop", spec("web", replicas=2))
    t1 = task(svc, 1, tid="a", node="n1")
    t2 = task(svc, 2, tid="b", node="n2")
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=[t1, t2],
                   statuses={"a": status(), "b": status()},
                   nodes=[node("n1"), node("n2")], alive={"n2"})
    d = plan_round(view, now_ms=5000, new_id=counter_ids())
    (n1,) = d.update_nodes
    assert (n1.meta.id, n1.state, n1.message) == ("n1", objects_pb2.NODE_DOWN,
                                                  "heartbeat lapsed")
    assert n1.meta.version == 1
    assert [t.meta.id for t in d.delete_tasks] == ["a"]
    assert d.delete_tasks[0].desired_state == REMOVE
    (replacement,) = d.create_tasks
    assert (replacement.slot, replacement.node) == (1, "n2")
    assert any("lost with node n1" in e.message for e in d.events)
    assert any(e.kind == "node" and e.message == "down: heartbeat lapsed" for e in d.events)


def test_node_back_in_alive_becomes_ready() -> None:
    view = view_of(nodes=[node("n1", state=objects_pb2.NODE_DOWN)], alive={"n1"})
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    (n1,) = d.update_nodes
    assert (n1.state, n1.message) == (objects_pb2.NODE_READY, "")


def test_new_node_is_ready_in_the_same_round() -> None:
    fresh = node("n1", state=objects_pb2.NODE_STATE_UNSPECIFIED)
    view = _one_app(spec("web"), nodes=[fresh], alive={"n1"})
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert [t.node for t in d.create_tasks] == ["n1"]


def test_task_on_unknown_node_is_replaced() -> None:
    svc = service("shop", spec("web"))
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc],
                   tasks=[task(svc, 1, tid="a", node="gone")], nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert [t.meta.id for t in d.delete_tasks] == ["a"]
    assert [(t.slot, t.node) for t in d.create_tasks] == [(1, "n1")]


def test_scale_down_removes_highest_slots() -> None:
    svc = service("shop", spec("web", replicas=2))
    tasks = [task(svc, s, tid=f"w{s}", node="n1") for s in (1, 2, 3, 4)]
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses={t.meta.id: status() for t in tasks}, nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert d.create_tasks == []
    assert sorted((t.meta.id, t.desired_state) for t in d.update_tasks) == [
        ("w3", REMOVE), ("w4", REMOVE)
    ]
    assert d.delete_tasks == []


def test_duplicate_slot_keeps_the_oldest() -> None:
    svc = service("shop", spec("web", replicas=1))
    old = task(svc, 1, tid="old", node="n1", created_ms=1)
    dup = task(svc, 1, tid="dup", node="n1", created_ms=2)
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=[dup, old],
                   statuses={"old": status(), "dup": status()}, nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert [(t.meta.id, t.desired_state) for t in d.update_tasks] == [("dup", REMOVE)]


def test_changed_spec_hash_replaces_tasks() -> None:
    svc = service("shop", spec("web", replicas=2))
    tasks = [task(svc, s, tid=f"w{s}", node="n1", spec_hash="old-hash") for s in (1, 2)]
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses={t.meta.id: status() for t in tasks}, nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert sorted(t.meta.id for t in d.update_tasks if t.desired_state == REMOVE) == ["w1",
                                                                                     "w2"]
    assert sorted(t.slot for t in d.create_tasks) == [1, 2]
    assert {t.spec_hash for t in d.create_tasks} == {svc.spec_hash}


@pytest.mark.parametrize(
    ("state", "node_name", "deleted"),
    [
        (objects_pb2.SHUTDOWN, "n1", True),
        (objects_pb2.COMPLETE, "n1", True),
        (objects_pb2.FAILED, "n1", True),
        (objects_pb2.RUNNING, "n1", False),
        (objects_pb2.READY, "n1", False),
        (objects_pb2.TASK_STATE_UNSPECIFIED, "n1", False),
        (objects_pb2.TASK_STATE_UNSPECIFIED, "", True),  # never placed
        (objects_pb2.RUNNING, "", True),
    ],
)
def test_removed_tasks_are_deleted_once_terminal_or_unplaced(
    state: int, node_name: str, deleted: bool
) -> None:
    svc = service("shop", spec("web", replicas=0))
    t = task(svc, 1, tid="x", node=node_name, desired=REMOVE)
    statuses = {"x": status(state)} if state else {}
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=[t],
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert [t.meta.id for t in d.delete_tasks] == (["x"] if deleted else [])
    assert d.update_tasks == []  # already marked: nothing to rewrite


def _deleted_app_view(db_state: int, web_state: int, web_desired: int = RUNNING) -> ClusterView:
    db = service("shop", spec("db"))
    web = service("shop", spec("web", depends_on=[dep("db")]))
    tasks = [task(db, 1, tid="db1", node="n1"),
             task(web, 1, tid="web1", node="n1", desired=web_desired)]
    # The services are gone (the app was deleted); their tasks remain.
    return view_of(tasks=tasks, statuses={"db1": status(db_state), "web1": status(web_state)},
                   nodes=[node("n1")])


def test_deleted_services_stop_in_reverse_dependency_order() -> None:
    revs, ids = Revisions(), counter_ids()
    view = _deleted_app_view(objects_pb2.RUNNING, objects_pb2.RUNNING)
    d = plan_round(view, now_ms=1, new_id=ids)
    assert [(t.meta.id, t.desired_state) for t in d.update_tasks] == [("web1", REMOVE)]
    assert d.delete_tasks == [] and d.create_tasks == []
    apply_decision(view, d, revs)

    # web is still stopping: db must wait
    d = plan_round(view, now_ms=2, new_id=ids)
    assert d.update_tasks == [] and d.delete_tasks == []

    view.statuses["web1"] = status(objects_pb2.SHUTDOWN)
    d = plan_round(view, now_ms=3, new_id=ids)
    assert [(t.meta.id, t.desired_state) for t in d.update_tasks] == [("db1", REMOVE)]
    assert [t.meta.id for t in d.delete_tasks] == ["web1"]
    apply_decision(view, d, revs)

    view.statuses["db1"] = status(objects_pb2.SHUTDOWN)
    d = plan_round(view, now_ms=4, new_id=ids)
    assert [t.meta.id for t in d.delete_tasks] == ["db1"]
    apply_decision(view, d, revs)
    assert view.tasks == {}


def test_deleted_dependency_stops_at_once_when_dependent_never_ran() -> None:
    view = _deleted_app_view(objects_pb2.RUNNING, objects_pb2.FAILED)
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert sorted((t.meta.id, t.desired_state) for t in d.update_tasks) == [("db1", REMOVE)]
    assert [t.meta.id for t in d.delete_tasks] == ["web1"]


def test_waiting_to_stop_writes_no_repeated_events() -> None:
    view = _deleted_app_view(objects_pb2.RUNNING, objects_pb2.RUNNING, web_desired=REMOVE)
    d = plan_round(view, now_ms=2, new_id=counter_ids())
    assert d.empty()
    assert d.events == []


def test_tasks_move_off_a_drained_node() -> None:
    svc = service("shop", spec("web"))
    t = task(svc, 1, tid="a", node="n1")
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=[t],
                   statuses={"a": status()},
                   nodes=[node("n1", availability=objects_pb2.DRAIN), node("n2")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert [(x.meta.id, x.desired_state) for x in d.update_tasks] == [("a", REMOVE)]
    assert [(x.slot, x.node) for x in d.create_tasks] == [(1, "n2")]


def test_service_status_counts_running_and_healthy() -> None:
    svc = service("shop", spec("web", replicas=2))
    tasks = [task(svc, s, tid=f"w{s}", node="n1") for s in (1, 2)]
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses={"w1": status(), "w2": status(objects_pb2.PREPARING)},
                   nodes=[node("n1")])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    (s,) = d.update_services
    assert (s.status.running, s.status.healthy, s.status.waiting_on) == (1, 1, "")
    assert s.meta.version == svc.meta.version


def test_spread_strategy_uses_both_nodes() -> None:
    s = spec("web", replicas=2)
    view = view_of(apps=[app("shop", [s], strategy=specs_pb2.SPREAD)],
                   services=[service("shop", s)],
                   nodes=[node("n1", mem=16 * GIB), node("n2", mem=16 * GIB)])
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert sorted(t.node for t in d.create_tasks) == ["n1", "n2"]


def _restart_view(dep_started: list[int], web_started: int) -> ClusterView:
    db = service("shop", spec("db", replicas=len(dep_started)))
    d = dep("db")
    d.restart = True
    web = service("shop", spec("web", depends_on=[d]))
    tasks = [task(db, i + 1, tid=f"db{i + 1}", node="n1") for i in range(len(dep_started))]
    tasks.append(task(web, 1, tid="web1", node="n1"))
    statuses = {f"db{i + 1}": objects_pb2.TaskStatus(state=objects_pb2.RUNNING, started_ms=s)
                for i, s in enumerate(dep_started)}
    statuses["web1"] = objects_pb2.TaskStatus(state=objects_pb2.RUNNING,
                                              started_ms=web_started)
    return view_of(apps=[app("shop", [db.spec, web.spec])], services=[db, web], tasks=tasks,
                   statuses=statuses, nodes=[node("n1")])


@pytest.mark.parametrize(
    ("dep_started", "web_started", "replaced"),
    [([1000], 2000, False), ([3000], 2000, True), ([1000], 0, False)],
    ids=["dep-older", "dep-restarted", "web-not-started"],
)
def test_restart_true_dependency_restarts_dependents(dep_started: list[int], web_started: int,
                                                     replaced: bool) -> None:
    d = plan_round(_restart_view(dep_started, web_started), now_ms=1, new_id=counter_ids())
    removed = [t.meta.id for t in d.update_tasks if t.desired_state == REMOVE]
    assert removed == (["web1"] if replaced else [])
    assert [(t.service, t.slot) for t in d.create_tasks] == ([("web", 1)] if replaced else [])
