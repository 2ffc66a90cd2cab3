"""Durations, sizes and CPU counts: table-driven, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.common.spec.errors import SpecError
from dockyard.common.spec.units import (
    format_bytes_human,
    format_cpus,
    format_duration,
    format_size,
    parse_cpus_millis,
    parse_duration_ms,
    parse_size_bytes,
)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1m30s", 90_000),
        ("10s", 10_000),
        ("1h", 3_600_000),
        ("500ms", 500),
        ("1.5s", 1500),
        ("0", 0),
        (0, 0),
        ("1h2m3s4ms", 3_723_004),
        ("2000us", 2),
        ("1500000ns", 2),  # rounds half up
        (".5s", 500),
    ],
)
def test_durations(text: Any, ms: int) -> None:
    assert parse_duration_ms(text, where="x") == ms


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", 'x: invalid duration "abc"; use a number with a unit'),
        ("-1s", 'x: duration must not be negative, got "-1s"'),
        (-5, "x: duration must not be negative, got -5"),
        (10, "x: duration 10 has no unit; write 10s or 10ms"),
        ("10", 'x: invalid duration "10"'),
        ("1d", 'x: invalid duration "1d"'),
        (True, "x: expected a duration, got true"),
        ([1], "x: expected a duration, got [1]"),
        ("s", 'x: invalid duration "s"'),
        ("99999999999999999h", "is too large"),
    ],
)
def test_bad_durations(value: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_duration_ms(value, where="x")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512M", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1.5GiB", 1536 * 1024**2),
        ("1024", 1024),
        (1024, 1024),
        ("100k", 102_400),
        ("100kb", 102_400),
        ("7b", 7),
        ("2 MB", 2 * 1024**2),
        (2048.0, 2048),
    ],
)
def test_sizes(text: Any, size: int) -> None:
    assert parse_size_bytes(text, where="x") == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", 'x: invalid size "lots"'),
        ("-1m", 'x: size must not be negative, got "-1m"'),
        (-1, "x: size must not be negative"),
        ("1x", 'x: invalid size "1x"'),
        ("ib", 'x: invalid size "ib"'),
        (1.5, "x: size 1.5 is not a whole number of bytes"),
        (float("nan"), "is not a valid size"),
        (None, "x: expected a size, got null"),
    ],
)
def test_bad_sizes(value: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_size_bytes(value, where="x")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "millis"),
    [(1.5, 1500), ("0.5", 500), (2, 2000), ("0.001", 1), (0, 0), (".25", 250)],
)
def test_cpus(value: Any, millis: int) -> None:
    assert parse_cpus_millis(value, where="x") == millis


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", 'x: CPU count must not be negative, got "-1"'),
        (-0.5, "x: CPU count must not be negative"),
        ("two", 'x: invalid CPU count "two"'),
        ("1.5cpu", 'x: invalid CPU count "1.5cpu"'),
        (float("inf"), "is not a valid CPU count"),
        ({"a": 1}, "x: expected a CPU count"),
    ],
)
def test_bad_cpus(value: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_cpus_millis(value, where="x")
    assert message in str(caught.value)


@settings(database=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_duration_format_round_trips(ms: int) -> None:
    assert parse_duration_ms(format_duration(ms), where="x") == ms


@settings(database=None)
@given(st.integers(min_value=0, max_value=2**50))
def test_size_format_round_trips(size: int) -> None:
    assert parse_size_bytes(format_size(size), where="x") == size


@settings(database=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_cpus_format_round_trips(millis: int) -> None:
    assert parse_cpus_millis(format_cpus(millis), where="x") == millis


def test_human_sizes() -> None:
    assert format_bytes_human(1024**3) == "1 GiB"
    assert format_bytes_human(1536) == "1.5 KiB"
    assert format_bytes_human(12) == "12 B"
