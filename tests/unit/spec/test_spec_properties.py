"""Whatever the input, ``load_app`` returns a ``LoadedApp`` or raises a one-line ``SpecError``."""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.client.compose import LoadedApp, SpecError, load_app
from dockyard.client.compose.service import HANDLED_KEYS

from .helpers import read_file

# SPEC_FUZZ_EXAMPLES=5000 runs a longer hunt; the default keeps the unit suite fast.
SETTINGS = settings(
    max_examples=int(os.environ.get("SPEC_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["8080:80", "1m30s", "512M", "no", "db", "CMD", "/x", "a:b:c", "0.5", "-1"]),
)
_keys = st.one_of(
    st.sampled_from([*HANDLED_KEYS, "target", "source", "condition"]), st.text(max_size=6)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)


def _outcome(text: str) -> LoadedApp | None:
    try:
        return load_app(text, read_file=read_file, default_name="prop")
    except SpecError as exc:
        message = str(exc)
        assert message
        assert "\n" not in message
        return None


_YAML_BITS = st.sampled_from(
    [
        "services:", "\n", "  ", "web:", "image: nginx", "- ", "[", "]", "{", "}", ":", "&a ",
        "*a", "<<: ", "!!str ", "!!python/name:os.system", "'", '"', "#", "\t", "---", "...",
        "x-y:", "ports:", "deploy:", "replicas: -1", "%YAML 1.1", "? ", "|", ">",
    ]
)  # fmt: skip


@SETTINGS
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    _outcome(text)


@SETTINGS
@given(st.lists(_YAML_BITS, max_size=25).map("".join))
def test_yaml_ish_text(text: str) -> None:
    _outcome(text)


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True)


@SETTINGS
@given(st.dictionaries(st.sampled_from(HANDLED_KEYS), _values, max_size=5))
def test_random_service_values(body: dict[str, Any]) -> None:
    document = {
        "services": {"web": {"image": "nginx", **body}, "db": {"image": "mariadb"}},
        "volumes": {"data": None},
        "secrets": {"pw": {"file": "./db_password.txt"}},
    }
    _outcome(_dump(document))


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["name", "services", "volumes", "networks", "secrets", "configs",
                         "version", "x-dockyard", "x-other"]),
        _values,
        max_size=4,
    )
)  # fmt: skip
def test_random_top_level(document: dict[str, Any]) -> None:
    _outcome(_dump(document))


@SETTINGS
@given(_values)
def test_random_service_body(body: Any) -> None:
    _outcome(_dump({"services": {"web": body}}))
