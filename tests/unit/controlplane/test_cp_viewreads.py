"""The List answers built from the mirror's view: the same objects, in the order a
prefix read of etcd gives them, statuses merged into their tasks, and the sums of what
each node's tasks reserve."""

from __future__ import annotations

from dockyard.controlplane.api import viewreads
from dockyard.controlplane.store import keys
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2, specs_pb2


def task(app: str, tid: str, *, node: str = "", cpu: int = 0, mem: int = 0,
         desired: int = objects_pb2.DESIRED_RUNNING) -> objects_pb2.Task:
    t = objects_pb2.Task(app=app, service="web", node=node, desired_state=desired)  # type: ignore[arg-type]
    t.meta.id = tid
    t.spec.reservations.CopyFrom(specs_pb2.Resources(cpu_millis=cpu, memory_bytes=mem))
    return t


def view_of(tasks: list[objects_pb2.Task],
            statuses: dict[tuple[str, str], objects_pb2.TaskStatus]) -> ClusterView:
    view = ClusterView()
    rev = 1
    for t in tasks:
        view.apply(keys.task_key(t.app, t.meta.id), t.SerializeToString(), rev)
        rev += 1
    for (app, tid), st in statuses.items():
        view.apply(keys.status_key(app, tid), st.SerializeToString(), rev)
        rev += 1
    for app in {t.app for t in tasks}:
        a = objects_pb2.App()
        a.meta.id = app
        view.apply(keys.app_key(app), a.SerializeToString(), rev)
        svc = objects_pb2.Service(app=app)
        svc.spec.name = "web"
        view.apply(keys.service_key(app, "web"), svc.SerializeToString(), rev)
        rev += 1
    return view


def test_tasks_come_in_key_order_with_their_status() -> None:
    # "shop-b/..." sorts before "shop/..." in etcd ('-' < '/'), though "shop" < "shop-b".
    tasks = [task("shop", "b2"), task("shop", "a1"), task("shop-b", "c3"), task("shopa", "d4")]
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, container_id="c1")
    view = view_of(tasks, {("shop", "a1"): running})
    out = viewreads.tasks_response(view).tasks
    assert [f"{t.app}/{t.meta.id}" for t in out] == ["shop-b/c3", "shop/a1", "shop/b2",
                                                     "shopa/d4"]
    assert out[1].status == running and out[1].meta.version == 2
    assert not out[2].HasField("status")
    assert [t.meta.id for t in viewreads.tasks_response(view, "shop").tasks] == ["a1", "b2"]
    assert not viewreads.tasks_response(view, "nothing").tasks
    out[1].node = "changed"  # the answer is a copy: the view stays as it was
    assert view.tasks["a1"].node == ""


def test_apps_and_services_in_key_order() -> None:
    view = view_of([task("shopa", "1"), task("shop-b", "2"), task("shop", "3")], {})
    apps = viewreads.apps_response(view)
    assert [a.meta.id for a in apps.apps] == ["shop", "shop-b", "shopa"]
    # Services sort by "app/name": "shop-b/web" before "shop/web", as etcd's keys do.
    assert [s.app for s in apps.services] == ["shop-b", "shop", "shopa"]
    only = viewreads.apps_response(view, "shop-b")
    assert [a.meta.id for a in only.apps] == ["shop-b"] and len(only.services) == 1
    assert [s.app for s in viewreads.services_of(view, "shopa")] == ["shopa"]


def test_allocated_adds_up_what_live_tasks_reserve_per_node() -> None:
    view = view_of([task("a", "1", node="n1", cpu=250, mem=100),
                    task("a", "2", node="n1", cpu=500, mem=50),
                    task("a", "3", node="n1", cpu=9000, desired=objects_pb2.DESIRED_SHUTDOWN),
                    task("a", "4", node="n2", cpu=100, desired=objects_pb2.DESIRED_READY),
                    task("a", "5", node="n3"), task("a", "6", cpu=700)], {})
    assert viewreads.allocated(view) == {
        "n1": specs_pb2.Resources(cpu_millis=750, memory_bytes=150),
        "n2": specs_pb2.Resources(cpu_millis=100)}
