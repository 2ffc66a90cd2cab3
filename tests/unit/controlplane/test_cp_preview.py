"""`apply --dry-run`'s placement: the new tasks of an apply, placed by the scheduler the
leader runs, on the view's nodes with the tasks that hold them; the same answer a
reconcile round gives once the apply is stored."""

from __future__ import annotations

from dockyard.controlplane.preview import new_slots, preview_placement
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import (
    GIB,
    app,
    counter_ids,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)


def _busy_cluster() -> tuple[list[objects_pb2.Node], list[objects_pb2.Task],
                             objects_pb2.App, objects_pb2.Service]:
    """Three nodes; another app's tasks already take most of h1 and some of h2."""
    nodes = [node("h1", cpu=2000, mem=4 * GIB), node("h2", cpu=2000, mem=4 * GIB),
             node("h3", cpu=2000, mem=4 * GIB, state=objects_pb2.NODE_DOWN)]
    db = service("other", spec("db", replicas=2, cpu=800, mem=GIB))
    tasks = [task(db, 1, tid="d1", node="h1"), task(db, 2, tid="d2", node="h1"),
             task(db, 3, tid="d3", node="h2", desired=objects_pb2.DESIRED_SHUTDOWN)]
    return nodes, tasks, app("other", [db.spec]), db


def _shop(replicas: int, *, cpu: int = 500) -> tuple[objects_pb2.App, objects_pb2.Service]:
    web = service("shop", spec("web", replicas=replicas, cpu=cpu, mem=512 * 1024 * 1024))
    return app("shop", [web.spec]), web


def _placed_by_a_round(view: ClusterView) -> dict[tuple[str, int], str]:
    decision = plan_round(view, now_ms=10_000, new_id=counter_ids(), seed=0,
                          judge_nodes=False, create_budget=1000)
    return {(t.service, t.slot): t.node for t in decision.create_tasks if t.app == "shop"}


def test_the_dry_run_places_new_tasks_where_a_round_then_places_them() -> None:
    nodes, tasks, other, db = _busy_cluster()
    shop, web = _shop(3)
    statuses = {"d3": status(objects_pb2.SHUTDOWN)}
    before = view_of(apps=[other], services=[db], tasks=tasks, nodes=nodes, statuses=statuses)
    preview = preview_placement(before, shop, [web])
    assert [(t.slot, t.pending) for t in preview["web"]] == [(1, ""), (2, ""), (3, "")]
    said = {("web", t.slot): t.node for t in preview["web"]}
    assert set(said.values()) <= {"h1", "h2"}  # h3 is down
    stored = view_of(apps=[other, shop], services=[db, web], tasks=tasks, nodes=nodes,
                     statuses=statuses)
    assert _placed_by_a_round(stored) == said


def test_a_task_that_fits_nowhere_says_why() -> None:
    nodes, tasks, other, db = _busy_cluster()
    shop, web = _shop(2, cpu=1500)  # h2 has room for one, h1 for none, h3 is down
    view = view_of(apps=[other], services=[db], tasks=tasks, nodes=nodes,
                   statuses={"d3": status(objects_pb2.SHUTDOWN)})
    placed = preview_placement(view, shop, [web])["web"]
    assert [t.node for t in placed] == ["h2", ""]
    assert placed[0].pending == ""
    assert placed[1].pending.startswith("0/3 nodes fit"), placed[1].pending
    assert "not ready" in placed[1].pending or "down" in placed[1].pending, placed[1].pending


def test_a_stopping_task_still_holds_its_node() -> None:
    nodes, tasks, other, db = _busy_cluster()  # d3 is told to stop, and still runs on h2
    shop, web = _shop(1, cpu=1500)
    view = view_of(apps=[other], services=[db], tasks=tasks, nodes=nodes,
                   statuses={"d3": status(objects_pb2.RUNNING)})
    assert preview_placement(view, shop, [web])["web"][0].node == ""


def test_only_the_slots_an_apply_adds_are_placed() -> None:
    nodes, _, _, _ = _busy_cluster()
    shop, web = _shop(2)
    running = [task(web, 1, tid="w1", node="h2"), task(web, 2, tid="w2", node="h1")]
    view = view_of(apps=[shop], services=[web], tasks=running, nodes=nodes)
    assert preview_placement(view, shop, [web]) == {}  # an update places nothing new
    shop4, web4 = _shop(4)
    assert [t.slot for t in new_slots(view, "shop", [web4])] == [3, 4]
    assert [t.slot for t in preview_placement(view, shop4, [web4])["web"]] == [3, 4]


def test_a_platform_no_node_has_waits_with_the_schedulers_reason() -> None:
    nodes, tasks, other, db = _busy_cluster()
    for n in nodes:
        n.description.architecture = "amd64"
    web = service("shop", specs_pb2.ServiceSpec(name="web", image="x", replicas=1,
                                                platform="linux/arm64"))
    shop = app("shop", [web.spec])
    view = view_of(apps=[other], services=[db], tasks=tasks, nodes=nodes)
    placed = preview_placement(view, shop, [web])["web"]
    assert placed[0].node == "" and "cannot run platform linux/arm64" in placed[0].pending
