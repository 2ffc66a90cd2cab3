"""Property tests: whatever the snapshot and batch, a plan never breaks a rule.

Each plan is replayed placement by placement: every one must pass ``_fits``, a plain
restatement of the rules written here independently of the scheduler, against the node
as updated by the placements before it.  That single check covers over-commit,
constraints, max_per_node, host ports and down or drained nodes.  Unplaced tasks must
really fit nowhere in the final state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from scheduler_builders import res

from dockyard.scheduler import (
    Algorithm,
    Constraint,
    NodeInfo,
    Plan,
    Strategy,
    TaskRequest,
    parse_constraint,
    place,
)

SERVICES = ("app/a", "app/b", "app/c")
PORTS = (80, 443, 8080)
CONSTRAINTS = tuple(
    parse_constraint(text)
    for text in (
        "node.labels.zone==a",
        "node.labels.zone!=b",
        "node.hostname!=n0",
        "node.labels.ssd==yes",
    )
)


@st.composite
def node_infos(draw: st.DrawFn, index: int) -> NodeInfo:
    cpus = draw(st.sampled_from((1, 2, 4, 8)))
    gib = draw(st.sampled_from((1, 4, 8, 16)))
    used_cpu = draw(st.integers(0, cpus * 4)) / 4
    used_gib = draw(st.integers(0, gib * 4)) / 4
    labels: dict[str, str] = {}
    zone = draw(st.sampled_from(("a", "b", "c", None)))
    if zone is not None:
        labels["zone"] = zone
    if draw(st.booleans()):
        labels["ssd"] = "yes"
    return NodeInfo(
        name=f"n{index}",
        capacity=res(cpus, gib),
        allocated=res(used_cpu, used_gib),
        labels=labels,
        ready=draw(st.sampled_from((True, True, True, False))),
        drained=draw(st.sampled_from((False, False, False, True))),
        used_ports=frozenset(draw(st.sets(st.sampled_from(PORTS), max_size=2))),
        service_counts=draw(
            st.dictionaries(st.sampled_from(SERVICES), st.integers(0, 2), max_size=2)
        ),
    )


@st.composite
def clusters(draw: st.DrawFn) -> list[NodeInfo]:
    count = draw(st.integers(0, 8))
    return [draw(node_infos(i)) for i in range(count)]


@st.composite
def batches(draw: st.DrawFn) -> list[TaskRequest]:
    tasks: list[TaskRequest] = []
    for service in draw(st.lists(st.sampled_from(SERVICES), unique=True, max_size=3)):
        template = TaskRequest(
            task_id="",
            service=service,
            demand=res(draw(st.integers(0, 8)) / 4, draw(st.integers(0, 16)) / 4),
            ports=frozenset(draw(st.sets(st.sampled_from(PORTS), max_size=1))),
            constraints=tuple(
                draw(st.lists(st.sampled_from(CONSTRAINTS), max_size=2, unique=True))
            ),
            strategy=draw(st.sampled_from(Strategy)),
            max_per_node=draw(st.sampled_from((None, None, 1, 2))),
            spread_by=draw(st.sampled_from(((), ("node.labels.zone",)))),
        )
        for i in range(draw(st.integers(1, 12))):
            demand = template.demand
            if draw(st.integers(0, 9)) == 0:  # an odd replica that does not share the shape
                demand = res(draw(st.integers(0, 8)) / 4, draw(st.integers(0, 16)) / 4)
            tasks.append(replace(template, task_id=f"{service}/{i}", demand=demand))
    return draw(st.permutations(tasks))


ALGORITHMS = st.sampled_from((None, Algorithm.BINPACK, Algorithm.SPREAD, Algorithm.FFD))


def _fits(node: NodeInfo, task: TaskRequest) -> bool:
    """Whether ``task`` may go on ``node`` as it is now: the rules, restated plainly."""
    limit = task.max_per_node
    return (
        node.ready
        and not node.drained
        and all(_holds(c, node) for c in task.constraints)
        and (limit is None or node.service_counts.get(task.service, 0) < limit)
        and not task.ports & node.used_ports
        and task.demand.fits_in(node.free)
    )


def _apply(node: NodeInfo, task: TaskRequest) -> NodeInfo:
    counts = dict(node.service_counts)
    counts[task.service] = counts.get(task.service, 0) + 1
    return replace(
        node,
        allocated=node.allocated + task.demand,
        used_ports=node.used_ports | task.ports,
        service_counts=counts,
    )


def _replay(nodes: list[NodeInfo], tasks: list[TaskRequest], plan: Plan) -> dict[str, NodeInfo]:
    by_name = {n.name: n for n in nodes}
    by_id = {t.task_id: t for t in tasks}
    for placement in plan.placements:
        current = by_name[placement.node]
        task = by_id[placement.task_id]
        assert _fits(current, task), (placement, current, task)
        by_name[placement.node] = _apply(current, task)
    return by_name


@settings(max_examples=150, deadline=None)
@given(nodes=clusters(), tasks=batches(), algorithm=ALGORITHMS, seed=st.integers(0, 3))
def test_plans_never_break_a_rule(
    nodes: list[NodeInfo], tasks: list[TaskRequest], algorithm: Algorithm | None, seed: int
) -> None:
    plan = place(nodes=nodes, tasks=tasks, seed=seed, algorithm=algorithm)
    final = _replay(nodes, tasks, plan)
    ids = [p.task_id for p in plan.placements]
    assert len(ids) == len(set(ids))
    assert set(ids).isdisjoint(plan.unplaced)
    assert set(ids) | set(plan.unplaced) == {t.task_id for t in tasks}
    # Explicit restatements of the rules, one by one.
    names = {n.name: n for n in nodes}
    by_id = {t.task_id: t for t in tasks}
    per_node: dict[str, list[TaskRequest]] = {}
    for p in plan.placements:
        per_node.setdefault(p.node, []).append(by_id[p.task_id])
    for name, placed in per_node.items():
        origin = names[name]
        assert origin.ready and not origin.drained
        total = origin.allocated
        for t in placed:
            total = total + t.demand
        assert total.cpu_millis <= max(origin.capacity.cpu_millis, origin.allocated.cpu_millis)
        assert total.memory_bytes <= max(
            origin.capacity.memory_bytes, origin.allocated.memory_bytes
        )
        ports = [port for t in placed for port in t.ports]
        assert len(ports) == len(set(ports))
        assert origin.used_ports.isdisjoint(ports)
        counts = Counter(t.service for t in placed)
        for t in placed:
            if t.max_per_node is not None:
                assert origin.service_counts.get(t.service, 0) + counts[t.service] <= t.max_per_node
            for constraint in t.constraints:
                assert _holds(constraint, origin)
    # Nothing is left pending while some node could take it.
    for task_id, reason in plan.unplaced.items():
        assert reason.startswith("0/")
        task = by_id[task_id]
        assert not any(_fits(n, task) for n in final.values()), reason


def _holds(constraint: Constraint, node: NodeInfo) -> bool:
    value = (
        node.name
        if constraint.key == "node.hostname"
        else node.labels.get(constraint.key.removeprefix("node.labels."))
    )
    return (value == constraint.value) == (constraint.op == "==")


@settings(max_examples=50, deadline=None)
@given(nodes=clusters(), tasks=batches(), algorithm=ALGORITHMS, seed=st.integers(0, 1000))
def test_same_seed_same_plan(
    nodes: list[NodeInfo], tasks: list[TaskRequest], algorithm: Algorithm | None, seed: int
) -> None:
    first = place(nodes=nodes, tasks=tasks, seed=seed, algorithm=algorithm)
    again = place(nodes=list(nodes), tasks=list(tasks), seed=seed, algorithm=algorithm)
    assert first == again
