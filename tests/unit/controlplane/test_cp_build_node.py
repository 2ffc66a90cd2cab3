"""Which node builds a `build:` service's image when no Docker Engine is at hand:
a ready node the server holds a session with, of the service's platform, the least busy;
no such node is one line saying why."""

from __future__ import annotations

from dockyard.controlplane.api.builds import choose_builder
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import app, node, service, spec, task, view_of


def _node(name: str, arch: str, **kw: int) -> objects_pb2.Node:
    n = node(name, **kw)
    n.description.architecture = arch
    return n


def _cluster(*nodes: objects_pb2.Node, busy: dict[str, int] | None = None) -> ClusterView:
    svc = service("shop", spec("web"))
    tasks = [task(svc, i, tid=f"{name}-{i}", node=name)
             for name, count in (busy or {}).items() for i in range(count)]
    return view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks, nodes=nodes)


def _anywhere(_name: str) -> bool:
    return True


def test_the_least_busy_reachable_ready_node_builds() -> None:
    view = _cluster(_node("h1", "amd64"), _node("h2", "amd64"), _node("h3", "amd64"),
                    busy={"h1": 2, "h2": 1})
    assert choose_builder(view, _anywhere).node == "h3"
    assert choose_builder(view, lambda n: n != "h3").node == "h2"
    drained = _cluster(_node("h1", "amd64"),
                       _node("h2", "amd64", availability=objects_pb2.DRAIN), busy={"h1": 3})
    assert choose_builder(drained, _anywhere).node == "h1"


def test_a_named_platform_picks_a_node_of_that_architecture() -> None:
    view = _cluster(_node("h1", "amd64"), _node("h2", "arm64"), _node("h3", "arm64"),
                    busy={"h2": 4, "h3": 1})
    choice = choose_builder(view, _anywhere, "linux/arm64")
    assert (choice.node, choice.platform, choice.problem) == ("h3", "", "")
    assert choose_builder(view, _anywhere, "linux/amd64").node == "h1"
    assert choose_builder(view, _anywhere, "linux/arm64/v8").node == "h3"


def test_a_node_that_says_its_architecture_is_preferred_to_one_that_does_not() -> None:
    view = _cluster(_node("h1", ""), _node("h2", "arm64"), busy={"h2": 5})
    assert choose_builder(view, _anywhere, "linux/arm64").node == "h2"
    unknown = _cluster(_node("h1", ""), _node("h2", "amd64"))
    assert choose_builder(unknown, _anywhere, "linux/arm64").node == "h1"


def test_no_node_of_the_platform_is_one_line_naming_each_node() -> None:
    view = _cluster(_node("h1", "amd64"), _node("h2", "amd64"))
    choice = choose_builder(view, _anywhere, "linux/arm64")
    assert choice.node is None
    assert choice.problem == (
        "no node can build for platform linux/arm64: ready nodes: h1 (architecture is "
        "amd64, not arm64), h2 (architecture is amd64, not arm64)")
    windows = choose_builder(view, _anywhere, "windows/amd64")
    assert windows.node is None and "runs linux containers, not windows" in windows.problem
    # the arm64 node is there, but not ready: it cannot build
    down = _cluster(_node("h1", "amd64"), _node("h2", "arm64", state=objects_pb2.NODE_DOWN))
    assert choose_builder(down, _anywhere, "linux/arm64").node is None


def test_no_ready_node_at_all_is_one_line() -> None:
    choice = choose_builder(_cluster(_node("h1", "amd64")), lambda _n: False)
    assert choice.node is None
    assert choice.problem == "no node can build: no ready node holds a session with this server"


def test_without_a_platform_on_mixed_nodes_the_most_common_architecture_is_built_for() -> None:
    view = _cluster(_node("h1", "arm64"), _node("h2", "amd64"), _node("h3", "amd64"),
                    busy={"h2": 1})
    choice = choose_builder(view, _anywhere)
    assert (choice.node, choice.platform) == ("h3", "linux/amd64")
    # a tie goes to the architecture first by name; one architecture pins nothing
    tie = _cluster(_node("h1", "arm64"), _node("h2", "amd64"))
    assert choose_builder(tie, _anywhere).platform == "linux/amd64"
    same = _cluster(_node("h1", "amd64"), _node("h2", ""), busy={"h1": 1})
    assert (choose_builder(same, _anywhere).node, choose_builder(same, _anywhere).platform) == (
        "h2", "")
