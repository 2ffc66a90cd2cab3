"""The lost-node round (reconcile/lost.py) and when the leader takes it (leader.py).

What a user would check after a host dies: its nodes are marked down, each of its tasks
is replaced in its own slot on a live node, exactly one task per slot, and a full round
afterwards finds nothing more to do. Whenever the case is not a plain one (a node back,
dependencies, an update, a slot held twice), the lost round declines and the full round
decides, as before.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.lost import echoed, lost_round_fits, plan_lost
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import (
    Revisions,
    app,
    apply_decision,
    counter_ids,
    dep,
    live_tasks,
    node,
    service,
    spec,
)


def cluster(nodes: int, replicas: dict[str, int], alive: set[str] | None = None,
            *, cpu: int = 0) -> ClusterView:
    """`nodes` ready nodes, one app "a" whose services (name -> replicas) are placed
    round-robin; `alive` the nodes whose liveness key is still there."""
    names = [f"n{i}" for i in range(nodes)]
    specs = [spec(s, replicas=r, cpu=cpu, mem=0) for s, r in replicas.items()]
    services = [service("a", s) for s in specs]
    tasks = []
    k = 0
    for svc in services:
        for slot in range(1, svc.spec.replicas + 1):
            t = objects_pb2.Task(app="a", service=svc.spec.name, slot=slot, spec=svc.spec,
                                 spec_hash=svc.spec_hash, node=names[k % nodes],
                                 desired_state=objects_pb2.DESIRED_RUNNING, network="a")
            t.meta.id = f"t{k:03d}"
            t.meta.version = 1
            tasks.append(t)
            k += 1
    return ClusterView(apps={"a": app("a", specs)}, services={s.meta.id: s for s in services},
                       tasks={t.meta.id: t for t in tasks},
                       nodes={n: node(n) for n in names},
                       alive=set(names) if alive is None else alive)


def test_a_lost_nodes_tasks_come_back_in_their_slots_on_live_nodes() -> None:
    view = cluster(4, {"web": 8, "db": 2}, alive={"n0", "n1", "n2"})
    lost = {t.meta.id for t in view.tasks.values() if t.node == "n3"}
    d = plan_lost(view, now_ms=5, new_id=counter_ids("r"))
    assert d is not None
    assert [(n.meta.id, n.state) for n in d.update_nodes] == [("n3", objects_pb2.NODE_DOWN)]
    assert {t.meta.id for t in d.delete_tasks} == lost
    assert sorted((t.service, t.slot) for t in d.create_tasks) == sorted(
        (view.tasks[tid].service, view.tasks[tid].slot) for tid in lost)
    assert all(t.node in {"n0", "n1", "n2"} for t in d.create_tasks)
    assert all(t.desired_state == objects_pb2.DESIRED_RUNNING for t in d.create_tasks)
    assert any("lost with node n3; replacing" in e.message for e in d.events)


def test_the_lost_round_is_what_a_full_round_decides() -> None:
    view = cluster(5, {"web": 12}, alive={"n0", "n1", "n2"})
    lost = plan_lost(view, now_ms=5, new_id=counter_ids("r"))
    full = plan_round(view, now_ms=5, new_id=counter_ids("r"))
    assert lost is not None
    assert sorted(t.meta.id for t in lost.delete_tasks) == sorted(
        t.meta.id for t in full.delete_tasks)
    assert sorted(t.slot for t in lost.create_tasks) == sorted(t.slot for t in full.create_tasks)
    assert sorted(n.meta.id for n in lost.update_nodes) == sorted(
        n.meta.id for n in full.update_nodes)
    assert not full.update_tasks


def test_it_declines_what_only_a_full_round_may_decide() -> None:
    base = cluster(3, {"web": 6}, alive={"n0", "n1"})
    assert plan_lost(base, now_ms=1, new_id=counter_ids()) is not None
    # Nothing lost: nothing to do here.
    assert plan_lost(cluster(3, {"web": 6}), now_ms=1, new_id=counter_ids()) is None
    # A node coming back at the same time.
    back = cluster(3, {"web": 6}, alive={"n0"})
    back.nodes["n0"] = node("n0", state=objects_pb2.NODE_DOWN)
    assert plan_lost(back, now_ms=1, new_id=counter_ids()) is None
    # A service with a dependency (its gate), an update under way, a scale change.
    for change in ("depends", "update", "scaled", "old spec", "duplicate", "ready"):
        view = cluster(3, {"web": 6}, alive={"n0", "n1"})
        svc = view.services["a/web"]
        copy = objects_pb2.Service()
        copy.CopyFrom(svc)
        if change == "depends":
            copy.spec.depends_on.append(dep("db"))
        elif change == "update":
            copy.update.state = objects_pb2.UPDATING
        elif change == "scaled":
            copy.spec.replicas = 4
        view.services["a/web"] = copy
        victim = next(t for t in view.tasks.values() if t.node == "n2")
        if change == "old spec":
            victim.spec_hash = "older"
        elif change == "ready":
            victim.desired_state = objects_pb2.DESIRED_READY
        elif change == "duplicate":
            twin = objects_pb2.Task()
            twin.CopyFrom(victim)
            twin.meta.id = "twin"
            twin.node = "n0"
            view.tasks["twin"] = twin
            view = ClusterView(apps=view.apps, services=view.services, tasks=view.tasks,
                               nodes=view.nodes, alive=view.alive)
        assert plan_lost(view, now_ms=1, new_id=counter_ids()) is None, change


@settings(deadline=None, max_examples=150)
@given(nodes=st.integers(2, 7), replicas=st.lists(st.integers(0, 9), min_size=1, max_size=3),
       dead=st.sets(st.integers(0, 6)), cpu=st.sampled_from([0, 500, 1500]))
def test_after_a_lost_round_a_full_round_has_nothing_left_to_do(
        nodes: int, replicas: list[int], dead: set[int], cpu: int) -> None:
    names = {f"n{i}" for i in range(nodes)}
    alive = names - {f"n{i}" for i in dead}
    view = cluster(nodes, {f"s{i}": r for i, r in enumerate(replicas)}, alive, cpu=cpu)
    d = plan_lost(view, now_ms=1, new_id=counter_ids("r"))
    if d is None:
        assert alive == names  # declined only with nothing lost: these services are plain
        return
    apply_decision(view, d, Revisions())
    view = ClusterView(apps=view.apps, services=view.services, tasks=view.tasks,
                       nodes=view.nodes, alive=view.alive)
    after = plan_round(view, now_ms=2, new_id=counter_ids("f"))
    assert not after.create_tasks and not after.delete_tasks and not after.update_nodes
    assert not [t for t in after.update_tasks if t.node]  # at most a placement retried
    for i, r in enumerate(replicas):
        live = live_tasks(view, f"a/s{i}")
        assert sorted(Counter(t.slot for t in live).items()) == [(s, 1) for s in range(1, r + 1)]
        assert not [t for t in live if t.node and t.node not in alive]


def test_the_leader_takes_the_lost_round_only_when_lost_nodes_are_all_the_news() -> None:
    view = cluster(4, {"web": 8}, alive={"n0", "n1", "n2"})
    assert lost_round_fits(view, {"n3"}, full=False)
    assert not lost_round_fits(view, {"n3"}, full=True)  # apps or everything to look at
    assert not lost_round_fits(view, {"n3", "n1"}, full=False)  # a live node changed
    assert not lost_round_fits(cluster(4, {"web": 8}), set(), full=False)  # none lost
    # An earlier round's node write (down, no task left on it) is no news.
    view.nodes["n9"] = node("n9", state=objects_pb2.NODE_DOWN)
    assert lost_round_fits(view, {"n3", "n9"}, full=False)


def test_only_the_leaders_own_task_writes_are_an_echo() -> None:
    echo = {"t1", "t2"}
    ours = Touched(apps={"a"}, structure={"a"}, task_objects={"t1"}, tasks={"t1", "t7"})
    assert echoed(ours, echo) == {"a"}  # t7's status came too: still only our task writes
    theirs = Touched(apps={"a"}, structure={"a"}, task_objects={"t1", "t3"})
    assert echoed(theirs, echo) == set()
    spec_too = Touched(apps={"a", "b"}, structure={"a", "b"}, specs={"b"}, task_objects={"t2"})
    assert echoed(spec_too, echo) == {"a"}
