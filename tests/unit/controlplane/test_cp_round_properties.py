"""Properties of plan_round applied to a fixpoint on random services and nodes."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.reconcile.tasks import TERMINAL
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import (
    GIB,
    MIB,
    Revisions,
    app,
    apply_decision,
    counter_ids,
    dep,
    live_tasks,
    node,
    service,
    simulate_agents,
    spec,
)

MAX_ROUNDS = 10


@st.composite
def services(draw: st.DrawFn) -> list[specs_pb2.ServiceSpec]:
    n = draw(st.integers(1, 4))
    out = []
    for i in range(n):
        deps = []
        if i and draw(st.booleans()):
            deps.append(dep(f"s{draw(st.integers(0, i - 1))}"))
        out.append(spec(
            f"s{i}",
            replicas=draw(st.integers(0, 5)),
            cpu=draw(st.integers(0, 15)) * 100,
            mem=draw(st.integers(0, 8)) * 256 * MIB,
            depends_on=deps,
        ))
    return out


NODE_KINDS = st.sampled_from(["ready", "ready", "down", "drained", "dies"])


@st.composite
def nodes(draw: st.DrawFn) -> list[tuple[objects_pb2.Node, str]]:
    kinds = draw(st.lists(NODE_KINDS, min_size=0, max_size=5))
    out = []
    for i, kind in enumerate(kinds):
        n = node(
            f"n{i}",
            cpu=draw(st.integers(1, 4)) * 1000,
            mem=draw(st.integers(1, 4)) * GIB,
            availability=objects_pb2.DRAIN if kind == "drained" else objects_pb2.ACTIVE,
        )
        out.append((n, kind))
    return out


def _holding(view: ClusterView, t: objects_pb2.Task) -> bool:
    if not t.node:
        return False
    if t.desired_state in (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING):
        return True
    return view.status_of(t.meta.id).state not in TERMINAL


def _check_capacity(view: ClusterView) -> None:
    cpu: Counter[str] = Counter()
    mem: Counter[str] = Counter()
    for t in view.tasks.values():
        if _holding(view, t):
            cpu[t.node] += t.spec.reservations.cpu_millis
            mem[t.node] += t.spec.reservations.memory_bytes
    for name, n in view.nodes.items():
        assert cpu[name] <= n.description.capacity.cpu_millis, name
        assert mem[name] <= n.description.capacity.memory_bytes, name


def _run_to_fixpoint(view: ClusterView, revs: Revisions, new_id, now: int) -> int:  # type: ignore[no-untyped-def]
    for i in range(MAX_ROUNDS):
        d = plan_round(view, now_ms=now + i, new_id=new_id)
        if d.empty():
            return i
        apply_decision(view, d, revs)
        simulate_agents(view)
        _check_capacity(view)
    raise AssertionError(f"no fixpoint after {MAX_ROUNDS} rounds")


def _check_invariants(view: ClusterView, specs: list[specs_pb2.ServiceSpec],
                      bad_nodes: set[str]) -> None:
    _check_capacity(view)
    for s in specs:
        live = live_tasks(view, f"shop/{s.name}")
        slots = [t.slot for t in live]
        assert len(live) <= s.replicas
        assert len(set(slots)) == len(slots)
        assert all(1 <= slot <= s.replicas for slot in slots)
        for t in live:
            assert t.node not in bad_nodes, (t.node, t.service)
    for t in view.tasks.values():
        if t.node:
            assert t.node in view.nodes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=services(), node_kinds=nodes())
def test_rounds_reach_a_safe_fixpoint(
    specs: list[specs_pb2.ServiceSpec], node_kinds: list[tuple[objects_pb2.Node, str]]
) -> None:
    all_nodes = [n for n, _ in node_kinds]
    view = ClusterView(
        apps={"shop": app("shop", specs)},
        services={f"shop/{s.name}": service("shop", s) for s in specs},
        nodes={n.meta.id: n for n in all_nodes},
        alive={n.meta.id for n, kind in node_kinds if kind != "down"},
    )
    revs, new_id = Revisions(), counter_ids()
    down = {n.meta.id for n, k in node_kinds if k == "down"}
    drained = {n.meta.id for n, k in node_kinds if k == "drained"}
    _run_to_fixpoint(view, revs, new_id, now=1000)
    _check_invariants(view, specs, down | drained)
    for name in down:
        assert view.nodes[name].state == objects_pb2.NODE_DOWN

    # Some nodes lose their heartbeat: their tasks are replaced elsewhere.
    dying = {n.meta.id for n, k in node_kinds if k == "dies"}
    view.alive -= dying
    _run_to_fixpoint(view, revs, new_id, now=100_000)
    _check_invariants(view, specs, down | drained | dying)
    for t in view.tasks.values():
        assert t.node not in dying

    # Every service that fits somewhere is fully placed and running.
    usable = [n for n in all_nodes if n.meta.id not in down | drained | dying]
    for s in specs:
        live = live_tasks(view, f"shop/{s.name}")
        assert len(live) == s.replicas  # pending ones included
        placed = [t for t in live if t.node]
        if len(placed) < s.replicas:
            assert all(t.unplaced_reason for t in live if not t.node)
        if not usable:
            assert placed == []
