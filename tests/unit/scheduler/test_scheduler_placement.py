"""place(): algorithms, batch bookkeeping, spread preferences and unplaced reasons."""

from __future__ import annotations

from collections import Counter

import pytest
from scheduler_builders import node, replicas, task

from dockyard.scheduler import Algorithm, Plan, Strategy, parse_constraint, place
from dockyard.scheduler.cluster import ClusterState, Shape


def _where(plan: Plan) -> dict[str, str]:
    return {p.task_id: p.node for p in plan.placements}


def test_binpack_fills_the_fullest_node() -> None:
    nodes = [node("empty"), node("busy", used=(8, 32)), node("full", used=(16, 64))]
    services = [task(f"s{i}", service=f"app/s{i}", cpus=2, gib=8) for i in range(3)]
    plan = place(nodes=nodes, tasks=services)
    assert set(_where(plan).values()) == {"busy"}


def test_binpack_packs_services_onto_few_nodes() -> None:
    nodes = [node(f"n{i}") for i in range(10)]
    services = [task(f"s{i}", service=f"app/s{i}", cpus=4, gib=16) for i in range(8)]
    plan = place(nodes=nodes, tasks=services)
    assert len(set(_where(plan).values())) == 2
    assert plan.unplaced == {}


def test_binpack_keeps_replicas_of_one_service_on_different_nodes() -> None:
    # Anti-affinity: losing one node must not lose the whole service.
    nodes = [node(f"n{i}", cpus=2, gib=2) for i in range(3)]
    plan = place(nodes=nodes, tasks=replicas(6, cpus=0.1, gib=1 / 64))
    assert Counter(_where(plan).values()) == {"n0": 2, "n1": 2, "n2": 2}
    plan = place(nodes=[node(f"n{i}") for i in range(10)], tasks=replicas(4, cpus=1, gib=1))
    assert len(set(_where(plan).values())) == 4


def test_binpack_anti_affinity_counts_replicas_already_running() -> None:
    nodes = [node("n0", counts={"app/web": 2}, used=(2, 2)), node("n1"), node("n2")]
    plan = place(nodes=nodes, tasks=replicas(4, cpus=1, gib=1))
    assert Counter(_where(plan).values()) == {"n1": 2, "n2": 2}


def test_binpack_puts_replicas_together_when_capacity_leaves_no_other_choice() -> None:
    # Two nodes and room for eight: the first pass spreads, the second packs the rest.
    nodes = [node("n0", cpus=4), node("n1", cpus=4), node("n2", ready=False)]
    plan = place(nodes=nodes, tasks=replicas(8, cpus=1, gib=1))
    assert plan.unplaced == {}
    assert Counter(_where(plan).values()) == {"n0": 4, "n1": 4}


def test_binpack_with_more_replicas_than_nodes_still_packs() -> None:
    # Each node fits 4; 2 of the 3 spare nodes stay empty although there are 12 replicas.
    nodes = [node(f"n{i}", cpus=4, gib=8) for i in range(5)]
    plan = place(nodes=nodes, tasks=replicas(12, cpus=1, gib=2))
    assert plan.unplaced == {}
    assert sorted(Counter(_where(plan).values()).values()) == [4, 4, 4]


def test_spread_strategy_uses_one_node_per_replica() -> None:
    nodes = [node(f"n{i}") for i in range(10)]
    plan = place(nodes=nodes, tasks=replicas(8, cpus=1, gib=1, strategy=Strategy.SPREAD))
    assert len(set(_where(plan).values())) == 8


def test_spread_prefers_nodes_with_fewer_replicas_then_emptier() -> None:
    nodes = [
        node("has-two", counts={"app/web": 2}),
        node("busy", used=(12, 48)),
        node("idle"),
    ]
    plan = place(nodes=nodes, tasks=replicas(2, strategy=Strategy.SPREAD))
    assert sorted(_where(plan).values()) == ["busy", "idle"]
    plan = place(nodes=nodes, tasks=replicas(1, strategy=Strategy.SPREAD))
    assert _where(plan) == {"t0": "idle"}


def test_algorithm_overrides_task_strategy_and_accepts_strings() -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    tasks = [task(f"t{i}", service=f"app/s{i}", strategy=Strategy.SPREAD) for i in range(4)]
    assert len(set(_where(place(nodes=nodes, tasks=tasks)).values())) == 4
    assert len(set(_where(place(nodes=nodes, tasks=tasks, algorithm="binpack")).values())) == 1
    assert len(set(_where(place(nodes=nodes, tasks=tasks, algorithm=Algorithm.FFD)).values())) == 1
    with pytest.raises(ValueError):
        place(nodes=nodes, tasks=tasks, algorithm="random")


def test_ffd_takes_the_first_node_in_list_order() -> None:
    nodes = [node("a", used=(15, 0)), node("b"), node("c", used=(8, 0))]
    plan = place(nodes=nodes, tasks=replicas(1, cpus=2, gib=1), algorithm="ffd")
    assert _where(plan) == {"t0": "b"}


def test_large_tasks_are_placed_before_small_ones() -> None:
    # Only one node: the 12-cpu task must not lose its place to the earlier small ones.
    nodes = [node("n1")]
    tasks = [
        *replicas(5, service="app/small", cpus=1, gib=1),
        task("big", service="app/big", cpus=12),
    ]
    for algorithm in ("binpack", "ffd", "spread"):
        plan = place(nodes=nodes, tasks=tasks, algorithm=algorithm)
        assert "big" in _where(plan)
        assert len(plan.unplaced) == 1


def test_batch_counts_ports_and_max_per_node() -> None:
    nodes = [node("n1"), node("n2")]
    web = replicas(3, ports=frozenset({80}))
    plan = place(nodes=nodes, tasks=web)
    assert sorted(_where(plan).values()) == ["n1", "n2"]
    assert plan.unplaced == {"t2": "0/2 nodes fit: 2 port 80 in use"}
    capped = replicas(5, max_per_node=2)
    plan = place(nodes=nodes, tasks=capped)
    assert Counter(_where(plan).values()) == {"n1": 2, "n2": 2}
    assert plan.unplaced == {"t4": "0/2 nodes fit: 2 max_per_node 2 reached"}


def test_two_services_sharing_a_port_do_not_collide() -> None:
    nodes = [node("n1")]
    tasks = [
        task("a", service="app/a", ports=frozenset({80})),
        task("b", service="app/b", ports=frozenset({80})),
    ]
    plan = place(nodes=nodes, tasks=tasks)
    assert len(plan.placements) == 1
    assert len(plan.unplaced) == 1


def test_never_down_or_drained_nodes() -> None:
    nodes = [node("down", ready=False), node("drained", drained=True), node("ok", cpus=2)]
    for algorithm in ("binpack", "ffd", "spread"):
        plan = place(nodes=nodes, tasks=replicas(3, cpus=1, gib=1), algorithm=algorithm)
        assert set(_where(plan).values()) == {"ok"}
        assert set(plan.unplaced.values()) == {
            "0/3 nodes fit: 1 insufficient cpu (needs 1 cpu), 1 node down, 1 node drained"
        }


def test_unplaced_reason_counts_every_node() -> None:
    nodes = [node(f"a{i}", labels={"zone": "a"}) for i in range(9)]
    nodes += [node(f"b{i}", labels={"zone": "b"}, gib=2) for i in range(31)]
    plan = place(
        nodes=nodes,
        tasks=replicas(2, gib=4, constraints=(parse_constraint("node.labels.zone==b"),)),
    )
    assert set(plan.unplaced.values()) == {
        "0/40 nodes fit: 31 insufficient memory (needs 4 GiB), 9 failed node.labels.zone==b"
    }
    assert plan.placements == ()


def test_placements_follow_task_order_and_cover_every_task() -> None:
    nodes = [node(f"n{i}", cpus=4, gib=4) for i in range(3)]
    tasks = [task(f"t{i}", service=f"app/s{i % 3}", cpus=1 + i % 2, gib=1) for i in range(12)]
    plan = place(nodes=nodes, tasks=tasks)
    ids = [p.task_id for p in plan.placements]
    assert ids == sorted(ids, key=lambda t: int(t[1:]))
    assert set(ids) | set(plan.unplaced) == {t.task_id for t in tasks}
    assert not set(ids) & set(plan.unplaced)


def test_spread_by_label_balances_zones() -> None:
    nodes = [node(f"a{i}", labels={"zone": "a"}) for i in range(4)]
    nodes += [node("b0", labels={"zone": "b"}), node("c0", labels={"zone": "c"})]
    for strategy in Strategy:
        tasks = replicas(6, cpus=1, gib=1, strategy=strategy, spread_by=("node.labels.zone",))
        plan = place(nodes=nodes, tasks=tasks)
        zones = Counter(p.node[0] for p in plan.placements)
        assert zones == {"a": 2, "b": 2, "c": 2}


def test_spread_by_counts_existing_replicas_and_is_only_a_preference() -> None:
    nodes = [
        node("a0", labels={"zone": "a"}, counts={"app/web": 3}),
        node("b0", labels={"zone": "b"}, cpus=1),
        node("x0"),  # no zone label: a group of its own
    ]
    tasks = replicas(4, cpus=1, gib=1, spread_by=("node.labels.zone",))
    plan = place(nodes=nodes, tasks=tasks)
    # zone a already has 3 replicas, so b0 (room for one) and the unlabelled x0 take them
    assert Counter(_where(plan).values()) == {"b0": 1, "x0": 3}
    assert plan.unplaced == {}


def test_spread_by_two_levels() -> None:
    nodes = [
        node(f"{zone}{rack}{i}", labels={"zone": zone, "rack": rack})
        for zone in "ab"
        for rack in "xy"
        for i in range(2)
    ]
    tasks = replicas(8, spread_by=("node.labels.zone", "node.labels.rack"))
    plan = place(nodes=nodes, tasks=tasks)
    assert Counter(p.node[:2] for p in plan.placements) == {"ax": 2, "ay": 2, "bx": 2, "by": 2}


def test_same_seed_same_plan_and_seed_breaks_ties() -> None:
    nodes = [node(f"n{i}") for i in range(20)]
    tasks = replicas(3)
    assert place(nodes=nodes, tasks=tasks, seed=7) == place(nodes=nodes, tasks=tasks, seed=7)
    chosen = {_where(place(nodes=nodes, tasks=tasks, seed=s))["t0"] for s in range(10)}
    assert len(chosen) > 1


def test_empty_inputs() -> None:
    assert place(nodes=[], tasks=[]) == Plan(placements=(), unplaced={})
    plan = place(nodes=[], tasks=replicas(1))
    assert plan.unplaced == {"t0": "0/0 nodes fit: the cluster has no nodes"}
    assert place(nodes=[node()], tasks=[]).placements == ()


def test_zero_demand_tasks_fit_on_a_full_node() -> None:
    plan = place(nodes=[node(used=(16, 64))], tasks=replicas(3, cpus=0, gib=0))
    assert len(plan.placements) == 3


def test_binpack_mixes_cpu_heavy_and_memory_heavy_replicas() -> None:
    # Lower bound 2 nodes, reachable only with 3 cpu-heavy and 2 memory-heavy per node.
    nodes = [node(f"n{i}", cpus=16, gib=64) for i in range(4)]
    cpu_heavy = replicas(6, prefix="c", service="app/cpu", cpus=4, gib=2)
    mem_heavy = replicas(4, prefix="m", service="app/mem", cpus=0.5, gib=24)
    plan = place(nodes=nodes, tasks=[*cpu_heavy, *mem_heavy])
    assert plan.unplaced == {}
    assert len(set(_where(plan).values())) == 2


def test_rejection_summary_counts_each_node_under_its_own_reason() -> None:
    nodes = [
        node("down", ready=False),
        node("drained", drained=True),
        node("zone", labels={"zone": "a"}),
        node("port", labels={"zone": "b"}, ports=frozenset({80})),
        node("cpu", labels={"zone": "b"}, used=(16, 0)),
        node("mem", labels={"zone": "b"}, used=(0, 64)),
        node("cap", labels={"zone": "b"}, counts={"app/web": 1}),
    ]
    request = task(
        constraints=(parse_constraint("node.labels.zone==b"),),
        ports=frozenset({80}),
        max_per_node=1,
    )
    state = ClusterState(nodes=nodes, seed=0)
    shape = Shape(
        service=request.service,
        demand=request.demand,
        ports=request.ports,
        constraints=request.constraints,
        strategy=request.strategy,
        max_per_node=request.max_per_node,
        spread_by=request.spread_by,
    )
    summary = state.rejection_summary(shape)
    assert summary.startswith("0/7 nodes fit: ")
    for subject in nodes:
        alone = place(nodes=[subject], tasks=[request]).unplaced["t1"]
        reason = alone.removeprefix("0/1 nodes fit: 1 ")
        assert f"1 {reason}" in summary, (alone, summary)
    assert not state.feasible(shape).any()


def test_spread_counts_tasks_so_services_without_reservations_spread_too() -> None:
    nodes = [node(f"n{i}", cpus=2, gib=2) for i in range(3)]
    services = [
        task(f"s{i}", service=f"app/s{i}", cpus=0, gib=0, strategy=Strategy.SPREAD)
        for i in range(5)
    ]
    plan = place(nodes=nodes, tasks=services)
    assert sorted(Counter(_where(plan).values()).values()) == [1, 2, 2]
    # Tasks already running count as well.
    busy = [node("n0", cpus=2, gib=2, counts={"app/other": 3}), *nodes[1:]]
    plan = place(nodes=busy, tasks=services[:2])
    assert set(_where(plan).values()) == {"n1", "n2"}
