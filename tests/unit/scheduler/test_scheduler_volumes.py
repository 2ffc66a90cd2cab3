"""VolumeAffinity: a task whose node-local volume has data goes to that node or waits."""

from __future__ import annotations

import calendar
import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
from scheduler_builders import node, task

from dockyard.scheduler import BoundVolume, place

DB_DATA = (BoundVolume(name="db-data", node="h2"),)
NOON = calendar.timegm((2026, 11, 28, 12, 1, 0)) * 1000


def db(task_id: str = "t1", **kw: object) -> object:
    return dataclasses.replace(task(task_id, service="amp/db", **kw),  # type: ignore[arg-type]
                               volumes=DB_DATA)


def test_a_bound_task_goes_to_the_node_holding_its_volume() -> None:
    nodes = [node("h1"), node("h2", used=(15, 60)), node("h3")]
    plan = place(nodes=nodes, tasks=[db()])
    assert [(p.task_id, p.node) for p in plan.placements] == [("t1", "h2")]


def test_node_down_keeps_it_pending_and_says_since_when() -> None:
    h2 = dataclasses.replace(node("h2", ready=False), down_since_ms=NOON)
    plan = place(nodes=[node("h1"), h2, node("h3")], tasks=[db()])
    assert plan.placements == ()
    assert plan.unplaced == {
        "t1": "waits for its volume db-data, which lives on h2 (down since 12:01 UTC)"}


def test_node_drained_or_gone_keeps_it_pending_with_the_way_out() -> None:
    plan = place(nodes=[node("h1"), node("h2", drained=True)], tasks=[db()])
    assert plan.unplaced["t1"] == (
        "waits for its volume db-data, which lives on h2 (node drained)")
    plan = place(nodes=[node("h1"), node("h3")], tasks=[db()])
    assert plan.unplaced["t1"].startswith(
        "waits for its volume db-data, which lives on h2 (no longer in the cluster; "
        "`dockyard volume forget amp/db-data`")


def test_a_full_home_node_says_what_it_lacks() -> None:
    plan = place(nodes=[node("h1"), node("h2", cpus=1, gib=1)], tasks=[db(cpus=2)])
    assert plan.unplaced["t1"] == ("waits for its volume db-data, which lives on h2 "
                                   "(insufficient cpu (needs 2 cpus))")


def test_volumes_on_two_nodes_can_never_be_met() -> None:
    both = dataclasses.replace(task("t1", service="amp/db"), volumes=(
        BoundVolume("a", "h1"), BoundVolume("b", "h2")))
    plan = place(nodes=[node("h1"), node("h2")], tasks=[both])
    assert plan.unplaced["t1"] == (
        "waits for its volumes, which live on different nodes (a on h1, b on h2)")


def test_an_unbound_task_is_not_affected() -> None:
    plan = place(nodes=[node("h1"), node("h2", ready=False)], tasks=[task("t1")])
    assert [p.node for p in plan.placements] == ["h1"]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=8),
    home=st.integers(min_value=0, max_value=7),
    down=st.sets(st.integers(min_value=0, max_value=7)),
    drained=st.sets(st.integers(min_value=0, max_value=7)),
    replicas=st.integers(min_value=1, max_value=4),
)
def test_bound_tasks_land_only_on_their_home_or_nowhere(
    count: int, home: int, down: set[int], drained: set[int], replicas: int
) -> None:
    nodes = [node(f"n{i}", ready=i not in down, drained=i in drained) for i in range(count)]
    name = f"n{home}"  # may be beyond the cluster: a node that is gone
    tasks = [dataclasses.replace(task(f"t{i}", service="app/db"),
                                 volumes=(BoundVolume("data", name),)) for i in range(replicas)]
    plan = place(nodes=nodes, tasks=tasks)
    assert {p.node for p in plan.placements} <= {name}
    usable = home < count and home not in down and home not in drained
    assert len(plan.placements) == (replicas if usable else 0)
    for reason in plan.unplaced.values():
        assert reason.startswith(f"waits for its volume data, which lives on {name} (")
