"""The shipped example parses cleanly and means what its comments say."""

from __future__ import annotations

from pathlib import Path

from dockyard.client.compose import load_app
from dockyard.scheduler.dag import start_waves
from dockyard.v1 import specs_pb2

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "amp" / "compose.yaml"


def test_amp_example() -> None:
    loaded = load_app(EXAMPLE.read_text(), read_file=lambda _: b"", default_name="ignored")
    assert loaded.warnings == ()  # update_config.delay is applied, without a word
    spec = loaded.spec
    assert spec.name == "amp"
    services = {service.name: service for service in spec.services}
    assert list(services) == ["db", "php", "web"]
    assert {name: s.replicas for name, s in services.items()} == {"db": 1, "php": 2, "web": 2}
    assert services["php"].depends_on[0] == specs_pb2.Dependency(
        service="db", condition=specs_pb2.SERVICE_HEALTHY, restart=True, required=True
    )
    assert services["web"].depends_on[0].condition == specs_pb2.SERVICE_HEALTHY
    assert services["web"].ports[0].host_port == 8080
    assert services["web"].placement.max_per_node == 1
    assert all(s.HasField("healthcheck") and s.reservations.memory_bytes for s in spec.services)
    assert services["db"].volumes[0].source == "db-data"
    deps = {s.name: [d.service for d in s.depends_on] for s in spec.services}
    assert start_waves(deps) == [["db"], ["php"], ["web"]]
