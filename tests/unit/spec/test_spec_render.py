"""``render_app`` prints the normalized app, and loading the output gives the same spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.client.compose import load_app, render_app, spec_hash
from dockyard.v1 import specs_pb2

from .helpers import load_doc, service_doc
from .test_spec_keys import CASES

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "amp" / "compose.yaml"


def _reload(spec: specs_pb2.AppSpec) -> specs_pb2.AppSpec:
    """Load the rendered text; secrets render as ``file: NAME``, so serve them by name."""
    contents = {obj.name: obj.data for obj in (*spec.secrets, *spec.configs)}
    return load_app(render_app(spec), read_file=contents.__getitem__, default_name="other").spec


@pytest.mark.parametrize(
    ("label", "body"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_round_trip_each_key(label: str, body: dict[str, Any]) -> None:
    spec = load_doc(service_doc(body)).spec
    assert _reload(spec) == spec


def test_round_trip_example() -> None:
    spec = load_app(EXAMPLE.read_text(), read_file=lambda _: b"", default_name="amp").spec
    again = _reload(spec)
    assert again == spec
    assert spec_hash(again) == spec_hash(spec)


def test_render_is_compose_shaped() -> None:
    body = {
        "command": "run --fast",
        "ports": ["8080:80"],
        "depends_on": ["db"],
        "deploy": {"resources": {"limits": {"cpus": 1.5, "memory": "512M"}}},
        "environment": {"B": "2", "A": "no"},
        "stop_grace_period": "90s",
    }
    doc = service_doc(body)
    doc["services"]["db"] = {"image": "mariadb:11"}
    text = render_app(load_doc(doc).spec)
    rendered = yaml.safe_load(text)
    web = rendered["services"]["web"]
    assert rendered["name"] == "app"
    assert rendered["x-dockyard"] == {"strategy": "binpack"}
    assert web["command"] == ["run", "--fast"]
    assert web["ports"] == [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "ingress"}]
    assert web["depends_on"] == {
        "db": {"condition": "service_started", "restart": False, "required": True}
    }
    assert web["deploy"]["resources"] == {"limits": {"cpus": 1.5, "memory": "512M"}}
    assert web["deploy"]["restart_policy"] == {"condition": "any"}
    assert list(web["environment"]) == ["A", "B"]
    assert web["environment"]["A"] == "no"  # quoted, so it stays a string
    assert web["stop_grace_period"] == "1m30s"
    assert rendered["secrets"] == {"pw": {"file": "pw"}}
    assert "s3cret" not in text


def test_strings_that_look_like_numbers_stay_strings() -> None:
    spec = load_doc(
        service_doc({"environment": {"A": "0o17", "B": "1e3", "C": "22:22", "D": ".5"}})
    ).spec
    assert _reload(spec) == spec


def test_spec_hash_is_stable_and_sensitive() -> None:
    first = load_doc(service_doc({"environment": {"A": "1", "B": "2"}})).spec
    second = load_doc(service_doc({"environment": {"B": "2", "A": "1"}})).spec
    third = load_doc(service_doc({"environment": {"A": "1", "B": "3"}})).spec
    assert spec_hash(first) == spec_hash(second)
    assert spec_hash(first) != spec_hash(third)
    assert len(spec_hash(first)) == 64
