"""apply warns, once, of nodes whose Docker Engine cannot apply healthcheck.start_interval
or a volume's subpath; an agent refuses to mount a whole volume for a subpath."""

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


def test_a_volume_subpath_on_old_engines_is_one_line_and_the_agent_refuses_it() -> None:
    from dockyard.agent.runtime.docker.create import subpath_refusal
    from dockyard.cli.engine_notes import needs_engine_check

    mount = specs_pb2.VolumeMount(type="volume", source="data", target="/site",
                                  volume_subpath="www")
    spec = specs_pb2.AppSpec(name="shop", services=[
        specs_pb2.ServiceSpec(name="web", volumes=[mount]), specs_pb2.ServiceSpec(name="db")])
    assert needs_engine_check(spec) and not needs_engine_check(app(0))
    nodes = [node("h1", "20.10.24+dfsg1"), node("h2", "26.1.5"), node("h3", "25.0.3")]
    assert engine_warnings(spec, nodes) == [
        "service web: volumes.volume.subpath cannot be mounted on h1, h3: their Docker "
        "Engine (20.10.24+dfsg1, 25.0.3) is older than 26.0 (API 1.45); a task placed there "
        "fails instead of mounting the whole volume"]
    web = spec.services[0]
    assert subpath_refusal(web, "1.41") == (
        "volumes.volume.subpath (/site) needs Docker Engine 26 (API 1.45); this node's "
        "engine speaks API 1.41: the whole volume is not mounted instead")
    assert subpath_refusal(web, "1.45") is None and subpath_refusal(web, "") is None
    assert subpath_refusal(spec.services[1], "1.41") is None
