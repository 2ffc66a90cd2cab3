"""Rolling updates from update_config: parallelism and stop-first / start-first."""

from __future__ import annotations

from dockyard.controlplane.desired import service_hash
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import (
    app,
    counter_ids,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)

REMOVE = objects_pb2.DESIRED_REMOVE


def _setup(order: str, parallelism: int, replicas: int = 3):  # type: ignore[no-untyped-def]
    s = spec("web", replicas=replicas)
    s.update_config.parallelism = parallelism
    s.update_config.order = order
    svc = service("shop", s)
    assert svc.spec_hash == service_hash(s)
    old = [task(svc, i, tid=f"w{i}", node="n1", spec_hash="old-hash", created_ms=i)
           for i in range(1, replicas + 1)]
    return svc, old


def test_stop_first_replaces_one_slot_at_a_time() -> None:
    svc, old = _setup("stop-first", 1)
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=old,
                   statuses={t.meta.id: status() for t in old}, nodes=[node("n1")])
    d = plan_round(view, now_ms=10, new_id=counter_ids())
    assert [t.meta.id for t in d.update_tasks if t.desired_state == REMOVE] == ["w1"]
    assert [t.slot for t in d.create_tasks] == [1]


def test_stop_first_waits_for_the_new_task_to_be_ready_before_the_next_slot() -> None:
    svc, old = _setup("stop-first", 1)
    fresh = task(svc, 1, tid="n1new", node="n1", created_ms=20)
    tasks = [*old[1:], fresh]
    statuses = {t.meta.id: status() for t in old[1:]}
    statuses["n1new"] = status(state=objects_pb2.STARTING)
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=30, new_id=counter_ids())
    assert not [t for t in d.update_tasks if t.desired_state == REMOVE]
    assert not d.create_tasks
    statuses["n1new"] = status()  # now running
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=40, new_id=counter_ids())
    assert [t.meta.id for t in d.update_tasks if t.desired_state == REMOVE] == ["w2"]
    assert [t.slot for t in d.create_tasks] == [2]


def test_start_first_keeps_the_old_task_until_the_new_one_is_ready() -> None:
    svc, old = _setup("start-first", 1, replicas=2)
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=old,
                   statuses={t.meta.id: status() for t in old}, nodes=[node("n1")])
    d = plan_round(view, now_ms=10, new_id=counter_ids())
    assert not [t for t in d.update_tasks if t.desired_state == REMOVE]
    assert [t.slot for t in d.create_tasks] == [1]
    fresh = d.create_tasks[0]
    fresh.node = "n1"
    tasks = [*old, fresh]
    statuses = {t.meta.id: status() for t in tasks}
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=20, new_id=counter_ids("u"))
    removed = [t.meta.id for t in d.update_tasks if t.desired_state == REMOVE]
    assert removed == ["w1"]
    assert [t.slot for t in d.create_tasks] == [2]  # the next slot starts beside w2


def test_zero_parallelism_updates_every_slot_at_once() -> None:
    svc, old = _setup("", 0)
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=old,
                   statuses={t.meta.id: status() for t in old}, nodes=[node("n1")])
    d = plan_round(view, now_ms=10, new_id=counter_ids())
    assert len([t for t in d.update_tasks if t.desired_state == REMOVE]) == 3
    assert sorted(t.slot for t in d.create_tasks) == [1, 2, 3]
    assert isinstance(svc.spec, specs_pb2.ServiceSpec)
