"""apply warns, once, of nodes whose Docker Engine cannot apply healthcheck.start_interval."""

from __future__ import annotations

from dockyard.cli.engine_notes import engine_release, engine_warnings
from dockyard.v1 import objects_pb2, specs_pb2


def node(name: str, version: str) -> objects_pb2.Node:
    n = objects_pb2.Node(description=objects_pb2.NodeDescription(engine_version=version))
    n.meta.id = name
    return n


def app(start_interval_ms: int) -> specs_pb2.AppSpec:
    check = specs_pb2.HealthCheck(test=["CMD", "true"], start_interval_ms=start_interval_ms)
    return specs_pb2.AppSpec(name="shop", services=[
        specs_pb2.ServiceSpec(name="web", healthcheck=check), specs_pb2.ServiceSpec(name="db")])


def test_engine_release() -> None:
    assert engine_release("20.10.24+dfsg1") == (20, 10)
    assert engine_release("28.2.2") == (28, 2)
    assert engine_release("") is None and engine_release("dev") is None


def test_one_line_names_the_old_nodes_and_their_engines() -> None:
    nodes = [node("h1", "20.10.24+dfsg1"), node("h2", "28.2.2"), node("h3", "20.10.24+dfsg1")]
    assert engine_warnings(app(1000), nodes) == [
        "service web: healthcheck.start_interval is not applied on h1, h3: their Docker "
        "Engine (20.10.24+dfsg1) is older than 25.0 (API 1.44); the engine's default is "
        "used there"]


def test_nothing_to_say() -> None:
    assert engine_warnings(app(0), [node("h1", "20.10.24")]) == []
    assert engine_warnings(app(1000), [node("h1", "26.1.0"), node("h2", "")]) == []
