"""Property tests: any input, however absurd, ends in a plan or a one-line rejection.

The scheduler runs on the leader's event loop, so a loop that never ends there stops the
whole control plane (a negative cpu reservation once did).  These tests feed ``place``
negative, zero and huge reservations, nodes with no or absurd capacity, and large
replica counts, and check that every task comes back placed or refused with a reason.
An alarm turns a hang into a failure instead of a stuck test run.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.scheduler import (
    Algorithm,
    NodeInfo,
    Plan,
    Resources,
    Strategy,
    TaskRequest,
    never_fits,
    parse_constraint,
    place,
)
from dockyard.scheduler.model import MAX_AMOUNT

AMOUNTS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from((0, -1, 1, MAX_AMOUNT, MAX_AMOUNT + 1, 2**63, -(2**63))),
    st.integers(0, 4000),
)
ZONE = parse_constraint("node.labels.zone==a")


@contextmanager
def must_finish(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, when the body does not return within ``seconds``."""

    def stop(signum: int, frame: object) -> None:
        raise AssertionError(f"place did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def hostile_nodes(draw: st.DrawFn) -> list[NodeInfo]:
    return [
        NodeInfo(
            name=f"n{i}",
            capacity=Resources(draw(AMOUNTS), draw(AMOUNTS)),
            allocated=Resources(draw(AMOUNTS), draw(AMOUNTS)),
            labels={"zone": draw(st.sampled_from("ab"))},
            ready=draw(st.booleans()),
            drained=draw(st.booleans()),
            used_ports=frozenset(draw(st.sets(st.sampled_from((80, 443)), max_size=1))),
            service_counts=draw(
                st.dictionaries(st.sampled_from(("app/a", "app/b")), st.integers(0, 5))
            ),
        )
        for i in range(draw(st.integers(0, 6)))
    ]


@st.composite
def hostile_tasks(draw: st.DrawFn, max_replicas: int) -> list[TaskRequest]:
    tasks: list[TaskRequest] = []
    for s in range(draw(st.integers(0, 4))):
        service = f"app/s{s}"
        template = TaskRequest(
            task_id="",
            service=service,
            demand=Resources(draw(AMOUNTS), draw(AMOUNTS)),
            ports=frozenset(draw(st.sets(st.sampled_from((80, 443)), max_size=1))),
            constraints=draw(st.sampled_from(((), (ZONE,)))),
            strategy=draw(st.sampled_from(Strategy)),
            max_per_node=draw(st.sampled_from((None, None, 1, 0, -1))),
            spread_by=draw(st.sampled_from(((), ("node.labels.zone",)))),
        )
        replicas = draw(st.integers(0, max_replicas))
        tasks += [
            TaskRequest(**{**_fields(template), "task_id": f"{service}/{i}"})
            for i in range(replicas)
        ]
    return tasks


def _fields(task: TaskRequest) -> dict[str, object]:
    return {name: getattr(task, name) for name in TaskRequest.__slots__}


def _every_task_answered(tasks: list[TaskRequest], plan: Plan) -> None:
    placed = [p.task_id for p in plan.placements]
    assert len(placed) == len(set(placed))
    assert set(placed) | set(plan.unplaced) == {t.task_id for t in tasks}
    assert set(placed).isdisjoint(plan.unplaced)
    for reason in plan.unplaced.values():
        assert reason and "\n" not in reason


ALGORITHMS = st.sampled_from((None, Algorithm.BINPACK, Algorithm.SPREAD, Algorithm.FFD))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes=hostile_nodes(), tasks=hostile_tasks(max_replicas=12), algorithm=ALGORITHMS)
def test_any_input_ends_in_a_plan_or_a_reason(
    nodes: list[NodeInfo], tasks: list[TaskRequest], algorithm: Algorithm | None
) -> None:
    with must_finish(60):
        plan = place(nodes=nodes, tasks=tasks, algorithm=algorithm)
    _every_task_answered(tasks, plan)
    by_id = {t.task_id: t for t in tasks}
    for p in plan.placements:
        demand = by_id[p.task_id].demand
        assert 0 <= demand.cpu_millis <= MAX_AMOUNT
        assert 0 <= demand.memory_bytes <= MAX_AMOUNT
    for task in tasks:
        if task.demand.cpu_millis < 0 or task.demand.memory_bytes < 0:
            assert plan.unplaced[task.task_id].startswith("invalid ")
            assert never_fits(nodes=nodes, task=task) == plan.unplaced[task.task_id]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes=hostile_nodes(), tasks=hostile_tasks(max_replicas=10_000), algorithm=ALGORITHMS)
def test_large_replica_counts_end_in_a_plan_or_a_reason(
    nodes: list[NodeInfo], tasks: list[TaskRequest], algorithm: Algorithm | None
) -> None:
    with must_finish(120):
        plan = place(nodes=nodes, tasks=tasks, algorithm=algorithm)
    _every_task_answered(tasks, plan)


def test_a_negative_cpu_reservation_is_refused_not_looped_on() -> None:
    nodes = [NodeInfo(name=f"n{i}", capacity=Resources(2000, 2 << 30)) for i in range(3)]
    tasks = [
        TaskRequest(task_id=f"t{i}", service="app/web", demand=Resources(-100, 16 << 20))
        for i in range(5)
    ]
    with must_finish(10):
        plan = place(nodes=nodes, tasks=tasks)
    assert plan.placements == ()
    assert set(plan.unplaced.values()) == {
        "invalid cpu reservation -0.1 cpus: must not be negative"
    }


def test_zero_capacity_nodes_take_only_tasks_that_reserve_nothing() -> None:
    nodes = [NodeInfo(name=f"n{i}", capacity=Resources(0, 0)) for i in range(3)]
    tasks = [
        TaskRequest(task_id="free", service="app/a", demand=Resources(0, 0)),
        TaskRequest(task_id="paid", service="app/b", demand=Resources(1, 0)),
    ]
    plan = place(nodes=nodes, tasks=tasks)
    assert [p.task_id for p in plan.placements] == ["free"]
    assert plan.unplaced == {"paid": "0/3 nodes fit: 3 insufficient cpu (needs 0.001 cpus)"}
