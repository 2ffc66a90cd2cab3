"""Rounds of apps that heard only of statuses (reconcile/quiet.py) decide what a full
round of those apps decides, and take the short way only when the app is at rest."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.quiet import count_statuses
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import (
    app,
    counter_ids,
    dep,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)

NODES = {
    "n0": node("n0"),
    "n1": node("n1"),
    "down": node("down", state=objects_pb2.NODE_DOWN),
    "drained": node("drained", availability=objects_pb2.DRAIN),
}
STATES = [objects_pb2.RUNNING, objects_pb2.STARTING, objects_pb2.FAILED, objects_pb2.SHUTDOWN]
DESIRED = [objects_pb2.DESIRED_RUNNING, objects_pb2.DESIRED_READY, objects_pb2.DESIRED_REMOVE]


def _view(services: list[objects_pb2.Service], tasks: list[objects_pb2.Task],
          statuses: dict[str, objects_pb2.TaskStatus]) -> ClusterView:
    return view_of(apps=[app("shop", [s.spec for s in services])], services=services,
                   tasks=tasks, statuses=statuses, nodes=NODES.values(),
                   alive={"n0", "n1", "drained"})


def summary(d: Decision) -> tuple[object, ...]:
    def rows(tasks: list[objects_pb2.Task]) -> list[tuple[object, ...]]:
        return sorted((t.service, t.slot, t.node, t.desired_state) for t in tasks)
    return (rows(d.create_tasks), rows(d.update_tasks), rows(d.delete_tasks),
            sorted(s.SerializeToString(deterministic=True) for s in d.update_services),
            sorted(n.meta.id for n in d.update_nodes), len(d.events), d.unfinished)


task_rows = st.lists(st.tuples(
    st.sampled_from(["web", "db"]), st.integers(1, 4), st.sampled_from(["", *NODES]),
    st.sampled_from(DESIRED), st.booleans(), st.sampled_from([None, *STATES]),
    st.booleans()), max_size=10)


@settings(max_examples=200, deadline=None)
@given(task_rows, st.integers(0, 4), st.integers(0, 4), st.booleans(), st.booleans(),
       st.booleans())
def test_a_status_round_decides_what_a_full_round_of_its_app_decides(
        rows: list[tuple[str, int, str, int, bool, int | None, bool]], web_n: int,
        db_n: int, depends: bool, check: bool, shown: bool) -> None:
    web = service("shop", spec("web", replicas=web_n, cpu=1, mem=1,
                               depends_on=[dep("db")] if depends else (),
                               healthcheck=["CMD", "true"] if check else None))
    db = service("shop", spec("db", replicas=db_n, cpu=1, mem=1))
    if shown:  # the counts as an earlier round wrote them
        web.status.running = web_n
        db.status.running = db_n
    svcs = {"web": web, "db": db}
    tasks, statuses = [], {}
    for i, (name, slot, on, desired, current, state, healthy) in enumerate(rows):
        t = task(svcs[name], slot, tid=f"t{i:02d}", node=on, desired=desired,
                 created_ms=i + 1, spec_hash=None if current else "old")
        tasks.append(t)
        if state is not None:
            statuses[t.meta.id] = status(state, objects_pb2.HEALTH_HEALTHY if healthy
                                         else objects_pb2.HEALTH_NONE)
    view = _view([web, db], tasks, statuses)
    full = plan_round(view, now_ms=9000, new_id=counter_ids("x"), apps={"shop"})
    quiet = plan_round(view, now_ms=9000, new_id=counter_ids("x"), apps=set(),
                       quiet={"shop"})
    assert summary(quiet) == summary(full)


def _at_rest(running: int) -> ClusterView:
    web = service("shop", spec("web", replicas=4, cpu=1, mem=1))
    tasks = [task(web, s, tid=f"t{s}", node=f"n{s % 2}") for s in range(1, 5)]
    statuses = {t.meta.id: status(objects_pb2.RUNNING if i < running
                                  else objects_pb2.STARTING) for i, t in enumerate(tasks)}
    return _view([web], tasks, statuses)


def test_an_app_at_rest_gets_only_its_counts() -> None:
    view = _at_rest(running=3)
    d = Decision()
    assert count_statuses(view, {"shop"}, settled={"n0", "n1"}, decision=d) == set()
    (svc,) = d.update_services
    assert (svc.meta.id, svc.status.running) == ("shop/web", 3)
    assert not (d.create_tasks or d.update_tasks or d.delete_tasks)


def test_counts_already_shown_write_nothing() -> None:
    view = _at_rest(running=4)
    view.services["shop/web"].status.running = view.services["shop/web"].status.healthy = 4
    d = Decision()
    assert count_statuses(view, {"shop"}, settled={"n0", "n1"}, decision=d) == set()
    assert d.empty()


def test_an_app_not_at_rest_is_left_to_a_full_round() -> None:
    view = _at_rest(running=4)
    d = Decision()
    # n1 is down or drained: its tasks are to be replaced, which only a full round decides.
    assert count_statuses(view, {"shop"}, settled={"n0"}, decision=d) == {"shop"}
    assert d.empty()
    assert count_statuses(view, {"gone"}, settled={"n0", "n1"}, decision=d) == {"gone"}


def test_the_view_tells_status_news_from_other_changes() -> None:
    view = ClusterView()
    web = service("shop", spec("web", replicas=1))
    t = task(web, 1, tid="t1", node="n0")
    for key, value in ((keys.service_key("shop", "web"), encode(web)),
                       (keys.task_key("shop", "t1"), encode(t))):
        got = Touched()
        view.apply(key, value, 1, got)
        assert got.structure == {"shop"}
    got = Touched()
    view.apply(keys.status_key("shop", "t1"), encode(status()), 2, got)
    assert (got.apps, got.structure, got.statuses) == ({"shop"}, set(), {"shop"})
    counted = objects_pb2.Service()
    counted.CopyFrom(web)
    counted.status.running = 1
    got = Touched()
    view.apply(keys.service_key("shop", "web"), encode(counted), 3, got)
    # Only its counts changed: neither structure nor a status.
    assert (got.apps, got.structure, got.statuses) == ({"shop"}, set(), set())
    scaled = objects_pb2.Service()
    scaled.CopyFrom(counted)
    scaled.spec.replicas = 3
    got = Touched()
    view.apply(keys.service_key("shop", "web"), encode(scaled), 4, got)
    assert got.structure == {"shop"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, *STATES]), st.booleans()), min_size=1,
                max_size=8), st.integers(0, 8), st.booleans())
def test_an_app_at_rest_takes_the_short_way_to_the_full_rounds_counts(
        reports: list[tuple[int | None, bool]], shown: int, check: bool) -> None:
    web = service("shop", spec("web", replicas=len(reports), cpu=1, mem=1,
                               healthcheck=["CMD", "true"] if check else None))
    web.status.running = shown
    tasks = [task(web, i + 1, tid=f"t{i}", node=f"n{i % 2}") for i in range(len(reports))]
    statuses = {t.meta.id: status(state, objects_pb2.HEALTH_HEALTHY if healthy
                                  else objects_pb2.HEALTH_NONE)
                for t, (state, healthy) in zip(tasks, reports, strict=True) if state}
    view = _view([web], tasks, statuses)
    assert count_statuses(view, {"shop"}, settled={"n0", "n1"}, decision=Decision()) == set()
    full = plan_round(view, now_ms=9000, new_id=counter_ids("x"), apps={"shop"})
    quiet = plan_round(view, now_ms=9000, new_id=counter_ids("x"), apps=set(),
                       quiet={"shop"})
    assert summary(quiet) == summary(full)
    assert quiet.at_rest == {"shop"}  # its next statuses may wait for a cheap round


def test_an_app_not_at_rest_is_not_said_to_be() -> None:
    web = service("shop", spec("web", replicas=3, cpu=1, mem=1))
    tasks = [task(web, i + 1, tid=f"t{i}", node="n0") for i in range(2)]  # a slot to fill
    view = _view([web], tasks, {})
    quiet = plan_round(view, now_ms=9000, new_id=counter_ids("x"), apps=set(),
                       quiet={"shop"})
    assert quiet.at_rest == set()
    assert len(quiet.create_tasks) == 1  # it had the full round
