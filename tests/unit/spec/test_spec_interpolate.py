"""Compose interpolation: table of forms, errors, and never anything but SpecError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.client.compose import SpecError, load_app
from dockyard.client.compose.interpolate import interpolate

ENV = {"SET": "v", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("$SET", "v"), ("${SET}", "v"), ("a$${SET}b", "a${SET}b"), ("$$", "$"),
        ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
        ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""), ("${SET}${SET}", "vv"), ("no dollars", "no dollars"),
    ],
)
def test_forms(text: str, out: str) -> None:
    assert interpolate(text, ENV) == (out, [])


def test_unset_defaults_to_blank_with_one_warning() -> None:
    out, warnings = interpolate({"a": ["$NOPE", "${NOPE}"]}, ENV)
    assert out == {"a": ["", ""]}
    assert warnings == ["the NOPE variable is not set; it defaults to a blank string"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [("${UNSET:?say why}", "UNSET is missing a value: say why"),
     ("${EMPTY:?}", "EMPTY is missing a value"), ("${", "invalid interpolation"),
     ("${SET", "invalid interpolation"), ("cost $5", "invalid interpolation")],
)
def test_errors(text: str, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        interpolate(text, ENV)


def test_load_app_interpolates_values_only_when_given_an_environment() -> None:
    text = "name: x\nservices:\n  web:\n    image: ${REGISTRY:-reg:5000}/web:${TAG}\n"
    spec = load_app(text, read_file=lambda p: b"", default_name="x",
                    environ={"TAG": "7"}).spec
    assert spec.services[0].image == "reg:5000/web:7"
    with pytest.raises(SpecError, match="image"):
        load_app(text, read_file=lambda p: b"", default_name="x")  # `$` kept: not an image


@settings(max_examples=300)
@given(st.text(alphabet="${}:-?+AB_ 1x", max_size=30))
def test_random_text_gives_text_or_a_spec_error(text: str) -> None:
    try:
        out, _ = interpolate(text, ENV)
    except SpecError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(out, str)
