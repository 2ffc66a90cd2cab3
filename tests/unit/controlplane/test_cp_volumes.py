"""Volume-aware rounds: bind a node-local volume when its task first runs, keep the task
on that node (pending with the reason while the node is gone), recreate, drain."""

from __future__ import annotations

from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import held_on, volume_infos
from dockyard.v1 import objects_pb2, specs_pb2
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
    view_of,
)

NOW = 1_000_000


def db_spec(*, recreate: bool = False) -> specs_pb2.ServiceSpec:
    s = spec("db")
    s.volumes.append(specs_pb2.VolumeMount(type="volume", source="db-data",
                                           target="/var/lib/mysql"))
    s.volumes_recreate = recreate
    return s


def amp(*, recreate: bool = False, driver: str = "") -> tuple[ClusterView, Revisions]:
    s = db_spec(recreate=recreate)
    a = app("amp", [s])
    a.spec.volumes.append("db-data")
    a.spec.volume_specs.append(specs_pb2.VolumeSpec(name="db-data", driver=driver))
    view = view_of(apps=[a], services=[service("amp", s)],
                   nodes=[node("h1"), node("h2"), node("h3")])
    return view, Revisions()


def step(view: ClusterView, revs: Revisions, *, now: int = NOW) -> Decision:
    d = plan_round(view, now_ms=now, new_id=counter_ids())
    apply_decision(view, d, revs)
    for v in d.put_volumes:
        copy = objects_pb2.Volume()
        copy.CopyFrom(v)
        copy.meta.version = revs.next()
        view.volumes[copy.meta.id] = copy
    simulate_agents(view)
    return d


def settle(view: ClusterView, revs: Revisions, rounds: int = 4) -> list[str]:
    messages: list[str] = []
    for i in range(rounds):
        messages += [e.message for e in step(view, revs, now=NOW + i).events]
    return messages


def lose(view: ClusterView, name: str) -> None:
    view.alive.discard(name)


def db_task(view: ClusterView) -> objects_pb2.Task:
    (task,) = live_tasks(view, "amp/db")
    return task


def test_the_first_run_binds_the_volume_to_its_node_and_says_so() -> None:
    view, revs = amp()
    messages = settle(view, revs)
    home = db_task(view).node
    record = view.volumes["amp/db-data"]
    assert (record.node, record.first_task) == (home, "db.1")
    assert f"volume db-data is bound to {home}: db.1 first ran with it there" in messages
    assert db_task(view).volumes[0].name == "db-data"  # the agent gets its options


def test_a_lost_node_keeps_the_task_pending_with_the_volume_reason_until_it_returns() -> None:
    view, revs = amp()
    settle(view, revs)
    home = db_task(view).node
    lose(view, home)
    messages = settle(view, revs)
    task = db_task(view)
    assert task.node == ""
    assert task.unplaced_reason.startswith(f"waits for its volume db-data, which lives on "
                                           f"{home} (down since ")
    assert f"db.1 {task.unplaced_reason}" in messages
    view.alive.add(home)
    settle(view, revs)
    assert db_task(view).node == home
    assert view.volumes["amp/db-data"].node == home


def test_recreate_moves_it_onto_an_empty_volume_and_says_so() -> None:
    view, revs = amp(recreate=True)
    settle(view, revs)
    home = db_task(view).node
    lose(view, home)
    messages = settle(view, revs)
    task = db_task(view)
    assert task.node not in ("", home)
    assert (f"db.1 started on an empty volume db-data on {task.node} (volumes: recreate); "
            f"its old data stays on {home}") in messages
    assert view.volumes["amp/db-data"].node == task.node


def test_a_portable_volume_is_never_bound() -> None:
    view, revs = amp(driver="nfs")
    settle(view, revs)
    home = db_task(view).node
    assert "amp/db-data" not in [d for d in view.volumes]
    lose(view, home)
    settle(view, revs)
    assert db_task(view).node not in ("", home)


def test_drain_keeps_the_holder_and_drain_force_stops_it_to_wait() -> None:
    view, revs = amp()
    settle(view, revs)
    home = db_task(view).node
    drained = view.nodes[home]
    drained.availability = objects_pb2.DRAIN
    settle(view, revs)
    assert db_task(view).node == home  # nothing else holds its data
    infos = volume_infos(apps=view.apps.values(), records=view.volumes.values(),
                         tasks=list(view.tasks.values()))
    assert [(i.name, u.service) for i, u in held_on(infos, home)] == [("db-data", "db")]
    drained.drain_force = True
    drained.meta.version = revs.next()
    settle(view, revs)
    task = db_task(view)
    assert task.node == ""
    assert task.unplaced_reason == (
        f"waits for its volume db-data, which lives on {home} (node drained)")
