"""Property tests: the fast bin-packing path makes the decisions of a plain reference.

``packing.pack`` scores only the groups still open on the node being filled, in compact
arrays that shrink as groups close, and keeps the free capacity of the cluster as a
running sum.  ``packing_reference.reference_pack`` scores every group in a Python loop
for every decision and sums the pool again for every node.  On random clusters (nodes
over-committed, down or drained, replicas already running, constraints, ports,
max_per_node) the two must give the same plan, placement by placement; and the plan
keeps the invariants users see: no node over its capacity, and replicas of a service on
different nodes while there are empty nodes enough for them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packing_reference import reference_pack
from scheduler_builders import res

from dockyard.scheduler import (
    Algorithm,
    NodeInfo,
    Plan,
    TaskRequest,
    parse_constraint,
    place,
)
from dockyard.scheduler import placement as placement_module

SERVICES = tuple(f"app{i // 3}/svc{i}" for i in range(10))
ZONE_A = parse_constraint("node.labels.zone==a")


@st.composite
def nodes_of(draw: st.DrawFn, count: int) -> list[NodeInfo]:
    nodes = []
    for index in range(count):
        cpus = draw(st.sampled_from((2, 4, 8, 16)))
        gib = draw(st.sampled_from((4, 8, 16, 64)))
        # Up to a quarter over capacity: a node's free capacity may be negative.
        used_cpu = draw(st.integers(0, cpus * 5)) / 4
        used_gib = draw(st.integers(0, gib * 5)) / 4 if draw(st.booleans()) else 0.0
        counts = draw(st.dictionaries(st.sampled_from(SERVICES), st.integers(1, 3), max_size=3))
        nodes.append(
            NodeInfo(
                name=f"n{index:03d}",
                capacity=res(cpus, gib),
                allocated=res(used_cpu if counts else 0.0, used_gib),
                labels={"zone": draw(st.sampled_from("abc"))},
                ready=draw(st.sampled_from((True,) * 9 + (False,))),
                drained=draw(st.sampled_from((False,) * 9 + (True,))),
                used_ports=frozenset(draw(st.sets(st.sampled_from((80, 443)), max_size=1))),
                service_counts=counts,
            )
        )
    return nodes


@st.composite
def batches(draw: st.DrawFn) -> list[TaskRequest]:
    tasks: list[TaskRequest] = []
    for service in draw(st.lists(st.sampled_from(SERVICES), unique=True, min_size=1)):
        template = TaskRequest(
            task_id="",
            service=service,
            demand=res(draw(st.integers(0, 16)) / 4, draw(st.integers(0, 48)) / 4),
            ports=frozenset(draw(st.sampled_from(((), (), (), (80,))))),
            constraints=draw(st.sampled_from(((),) * 4 + ((ZONE_A,),))),
            max_per_node=draw(st.sampled_from((None, None, None, 1, 2))),
        )
        for i in range(draw(st.integers(1, 30))):
            demand = template.demand
            if draw(st.integers(0, 9)) == 0:  # a replica of another shape
                demand = res(draw(st.integers(0, 16)) / 4, draw(st.integers(0, 48)) / 4)
            tasks.append(replace(template, task_id=f"{service}/{i}", demand=demand))
    return tasks


def _reference_plan(
    monkeypatch: pytest.MonkeyPatch, nodes: list[NodeInfo], tasks: list[TaskRequest], seed: int
) -> Plan:
    with monkeypatch.context() as patched:
        patched.setattr(placement_module, "pack", reference_pack)
        return place(nodes=nodes, tasks=tasks, seed=seed, algorithm=Algorithm.BINPACK)


@settings(max_examples=120, deadline=None)
@given(
    nodes=st.integers(0, 60).flatmap(nodes_of), tasks=batches(), seed=st.integers(0, 5)
)
def test_fast_binpack_makes_the_reference_decisions(
    nodes: list[NodeInfo], tasks: list[TaskRequest], seed: int
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _reference_plan(monkeypatch, nodes, tasks, seed)
    got = place(nodes=nodes, tasks=tasks, seed=seed, algorithm=Algorithm.BINPACK)
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    spare=st.integers(0, 20),
    seed=st.integers(0, 5),
)
def test_replicas_go_apart_while_nodes_allow(replicas: list[int], spare: int, seed: int) -> None:
    # Each node can hold every task of the batch; there are more nodes than replicas of
    # any one service: no node gets two replicas of a service, and none is over capacity.
    nodes = [
        NodeInfo(name=f"n{i:03d}", capacity=res(64, 256)) for i in range(max(replicas) + spare)
    ]
    tasks = [
        TaskRequest(task_id=f"app/s{s}/{i}", service=f"app/s{s}", demand=res(0.25, 1))
        for s, count in enumerate(replicas)
        for i in range(count)
    ]
    plan = place(nodes=nodes, tasks=tasks, seed=seed)
    assert not plan.unplaced
    service = {t.task_id: t.service for t in tasks}
    pairs = Counter((service[p.task_id], p.node) for p in plan.placements)
    assert max(pairs.values()) == 1, pairs
    per_node = Counter(p.node for p in plan.placements)
    assert all(count * 250 <= 64_000 for count in per_node.values())
