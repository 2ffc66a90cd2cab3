"""Rounds that look only at the apps that changed decide what a full round decides.

A cluster of several apps is brought to rest with full rounds; then one app changes
(scaled, or its tasks stop). A round limited to that app must decide exactly what a full
round decides, and rounds limited to the apps each round touched reach the same rest.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.nodes import changing_nodes
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import (
    Revisions,
    app,
    apply_decision,
    counter_ids,
    live_tasks,
    node,
    service,
    simulate_agents,
    spec,
)

APPS = ["a", "b", "c"]


def reindexed(view: ClusterView) -> ClusterView:
    """The same tables with fresh indexes (the builders change `tasks` in place)."""
    return ClusterView(apps=view.apps, services=view.services, tasks=dict(view.tasks),
                       statuses=view.statuses, nodes=view.nodes, alive=view.alive)


def settle(view: ClusterView, revs: Revisions, *, now: int,
           apps: set[str] | None = None) -> ClusterView:
    """Rounds until nothing changes; limited to `apps` and then to what each round
    touched, when given."""
    new_id = counter_ids("s")
    for i in range(60):
        d = plan_round(reindexed(view), now_ms=now + i, new_id=new_id, apps=apps)
        if d.empty():
            if apps is None:
                return view
            apps = None  # confirm the rest with a full round, as the leader's safety net
            continue
        apply_decision(view, d, revs)
        simulate_agents(view)
        if apps is not None:
            apps = touched_apps(d) | apps
    raise AssertionError("no rest after 60 rounds")


def touched_apps(d: Decision) -> set[str]:
    return {t.app for t in [*d.create_tasks, *d.update_tasks, *d.delete_tasks]} | {
        s.app for s in d.update_services}


def summary(d: Decision) -> tuple[object, ...]:
    def rows(tasks: list[objects_pb2.Task]) -> list[tuple[object, ...]]:
        return sorted((t.app, t.service, t.slot, t.node, t.desired_state) for t in tasks)
    return (rows(d.create_tasks), rows(d.update_tasks), rows(d.delete_tasks),
            sorted((s.meta.id, s.status.running) for s in d.update_services))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=3, max_size=3), st.sampled_from(APPS),
       st.integers(0, 7))
def test_a_round_of_the_changed_app_decides_what_a_full_round_decides(
        replicas: list[int], changed: str, new_replicas: int) -> None:
    revs = Revisions()
    specs = {name: spec("web", replicas=r, cpu=100, mem=1) for name, r in zip(APPS, replicas,
                                                                                strict=True)}
    view = ClusterView(
        apps={n: app(n, [s]) for n, s in specs.items()},
        services={f"{n}/web": service(n, s) for n, s in specs.items()},
        nodes={f"n{i}": node(f"n{i}") for i in range(3)}, alive={"n0", "n1", "n2"})
    view = settle(view, revs, now=1000)

    scaled = spec("web", replicas=new_replicas, cpu=100, mem=1)
    view.services[f"{changed}/web"] = service(changed, scaled, version=revs.next())
    view.apps[changed] = app(changed, [scaled], version=revs.next())
    full = plan_round(reindexed(view), now_ms=5000, new_id=counter_ids("x"))
    limited = plan_round(reindexed(view), now_ms=5000, new_id=counter_ids("x"),
                         apps={changed})
    assert summary(limited) == summary(full)

    view = settle(view, revs, now=6000, apps={changed})
    for name in APPS:
        want = new_replicas if name == changed else specs[name].replicas
        assert len(live_tasks(view, f"{name}/web")) == want


def test_a_node_going_down_makes_the_round_look_at_every_app() -> None:
    revs = Revisions()
    specs = {name: spec("web", replicas=2, cpu=100, mem=1) for name in APPS}
    view = ClusterView(
        apps={n: app(n, [s]) for n, s in specs.items()},
        services={f"{n}/web": service(n, s) for n, s in specs.items()},
        nodes={f"n{i}": node(f"n{i}") for i in range(3)}, alive={"n0", "n1", "n2"})
    view = settle(view, revs, now=1000)
    down = sorted(t.node for t in view.tasks.values())[0]
    view.alive.discard(down)
    lost = {t.app for t in view.tasks.values() if t.node == down}
    assert lost
    d = plan_round(reindexed(view), now_ms=5000, new_id=counter_ids("x"), apps=set())
    assert {t.app for t in d.delete_tasks} == lost  # no app was named, all were looked at


def test_a_round_of_the_apps_a_node_change_concerns_decides_what_a_full_round_decides(
        ) -> None:
    """What the leader names for a node change (the apps on the nodes that change, and
    the apps with tasks waiting for a node) is all a full round would touch."""
    revs = Revisions()
    specs = {name: spec("web", replicas=2, cpu=100, mem=1) for name in APPS}
    specs["c"] = spec("web", replicas=3, cpu=3000, mem=1)  # one fits per node: waits
    view = ClusterView(
        apps={n: app(n, [s]) for n, s in specs.items()},
        services={f"{n}/web": service(n, s) for n, s in specs.items()},
        nodes={f"n{i}": node(f"n{i}") for i in range(2)}, alive={"n0", "n1"})
    view = settle(view, revs, now=1000)
    view = reindexed(view)
    assert view.apps_waiting() == {"c"}
    # One node is lost, another joins: its tasks move, the waiting task finds room.
    down = sorted(t.node for t in view.tasks.values() if t.app == "a")[0]
    view.alive.discard(down)
    view.nodes["n2"] = node("n2", state=objects_pb2.NODE_STATE_UNSPECIFIED, version=revs.next())
    view.alive.add("n2")
    changing = changing_nodes(view.nodes, view.alive)
    assert changing == {down, "n2"}
    named = {a for n in changing for a in view.apps_on(n)} | view.apps_waiting()
    full = plan_round(reindexed(view), now_ms=5000, new_id=counter_ids("x"))
    limited = plan_round(reindexed(view), now_ms=5000, new_id=counter_ids("x"),
                         apps=named)
    assert summary(limited) == summary(full)
    assert {t.app for t in full.delete_tasks} <= named
    assert any(t.app == "c" and t.node == "n2" for t in full.update_tasks)


def test_the_view_knows_which_apps_have_tasks_on_no_node() -> None:
    view = ClusterView()
    t = objects_pb2.Task(app="a", service="web", slot=1)
    t.meta.id = "t1"
    view.apply(keys.task_key("a", "t1"), encode(t), 1)
    assert view.apps_waiting() == {"a"}
    t.node = "n1"
    view.apply(keys.task_key("a", "t1"), encode(t), 2)
    assert view.apps_waiting() == set() and view.apps_on("n1") == {"a"}
    view.apply(keys.task_key("a", "t1"), None, 3)
    assert view.apps_waiting() == set() and view.apps_on("n1") == set()
