"""The failure detector (controlplane/detector.py): what an operator relies on.

- a node with steady heartbeats is declared down at the grace, not before;
- a node whose heartbeats were jittery gets longer, but never more than the longest grace;
- time the server itself was stalled, or is behind in reading calls, is not held
  against any node;
- a node that has registered gets the longest grace until it has sent three heartbeats;
- phi grows with silence.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.detector import (
    DetectorSettings,
    FailureDetector,
    allowed_silence_s,
    phi,
    stall_s,
)

DEFAULT = DetectorSettings()  # 1 s heartbeats, 4 s grace, 10 s at most


def fed(intervals: list[float], settings: DetectorSettings = DEFAULT) -> tuple[
        FailureDetector, float]:
    """A detector that heard node n at these intervals; returns it and the last arrival."""
    d = FailureDetector(settings)
    t = 100.0
    d.heard("n", t)
    for gap in intervals:
        t += gap
        d.heard("n", t)
    return d, t


def test_steady_node_is_down_exactly_at_the_grace() -> None:
    d, last = fed([1.0] * 30)
    assert d.overdue(last + 3.99) == []
    assert d.overdue(last + 4.0 + 1e-9) == ["n"]


def test_a_node_just_registered_has_the_longest_grace_until_it_has_a_history() -> None:
    """Opening its session can take a joining agent longer than the grace when many join
    at once; once it has three heartbeat intervals, the grace applies."""
    d = FailureDetector(DEFAULT)
    d.registered("n", 0.0)
    assert d.overdue(DEFAULT.grace_max_s - 0.1) == []
    assert d.overdue(DEFAULT.grace_max_s) == ["n"]
    d.heard("n", 6.0)  # its first heartbeat, late: not an interval of its history
    assert d.overdue(6.0 + DEFAULT.grace_max_s - 0.1) == []
    for t in (7.0, 8.0, 9.0):
        d.heard("n", t)
    assert d.overdue(9.0 + 3.9) == []
    assert d.overdue(9.0 + 4.0) == ["n"]


def test_a_node_registered_again_is_no_longer_overdue() -> None:
    d, last = fed([1.0] * 10)
    assert d.is_overdue("n", last + 5.0) and d.overdue(last + 5.0) == ["n"]
    d.registered("n", last + 5.0)  # its agent came back before the verdict was acted on
    assert not d.is_overdue("n", last + 5.0)
    assert not d.is_overdue("unknown", last + 100.0)


def test_the_time_the_server_is_behind_in_reading_calls_is_excused() -> None:
    d, last = fed([1.0] * 10)
    assert d.overdue(last + 5.0, behind_s=1.5) == []  # its heartbeats may be queued
    assert d.overdue(last + 5.6, behind_s=1.5) == ["n"]
    assert d.overdue(last + 4.0, behind_s=0.0) == ["n"]


def test_jittery_node_gets_more_time_but_not_beyond_the_longest_grace() -> None:
    # A loaded host: heartbeats 0.5 to 3 s apart.
    d, last = fed([0.5, 3.0, 1.0, 2.5, 0.6, 3.0, 1.2, 0.8, 2.8, 1.0] * 3)
    allowed = d.allowed_s("n")
    assert DEFAULT.grace_s < allowed <= DEFAULT.grace_max_s
    assert d.overdue(last + DEFAULT.grace_s + 0.5) == []
    assert d.overdue(last + DEFAULT.grace_max_s) == ["n"]


def test_stalled_server_time_is_excused() -> None:
    d, last = fed([1.0] * 10)
    d.excuse(5.0)  # the server's loop was stuck for 5 s: no heartbeat could be read
    assert d.overdue(last + 8.0) == []
    assert d.overdue(last + 9.0) == ["n"]


def test_forgotten_and_unknown_nodes_are_never_overdue() -> None:
    d, last = fed([1.0] * 5)
    d.forget("n")
    assert d.overdue(last + 100) == []
    assert d.phi("n", last + 100) == 0.0
    assert d.silence_s("other", last) == 0.0


def test_phi_is_zero_when_early_and_rises_with_silence() -> None:
    assert phi(0.0, 1.0, 0.1) < 1e-6
    assert phi(1.0, 1.0, 0.1) == pytest.approx(math.log10(2))
    assert phi(1.5, 1.0, 0.1) < phi(2.0, 1.0, 0.1) < phi(3.0, 1.0, 0.1)
    assert phi(100.0, 1.0, 0.1) == math.inf


def test_settings_that_make_no_sense_are_named() -> None:
    assert DetectorSettings(grace_s=0.5).problem() == (
        "the node grace (0.5s) must be at least the heartbeat period (1s)")
    assert "longest node grace" in (DetectorSettings(grace_max_s=3).problem() or "")
    assert DetectorSettings(period_s=0).problem() is not None
    assert DEFAULT.problem() is None


def test_stall_is_the_lateness_beyond_the_tolerance() -> None:
    assert stall_s(0.25, 0.26, tolerance_s=0.05) == 0.0
    assert stall_s(0.25, 3.25, tolerance_s=0.05) == pytest.approx(2.95)


intervals = st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=0, max_size=80)


@settings(max_examples=200, deadline=None)
@given(history=intervals, silence=st.floats(min_value=0.0, max_value=30.0))
def test_never_down_before_the_grace_always_down_at_the_longest(
    history: list[float], silence: float
) -> None:
    d, last = fed(history)
    now = last + silence
    silence = now - last  # the silence the detector sees, float rounding included
    down = d.overdue(now) == ["n"]
    if silence < DEFAULT.grace_s:
        assert not down
    if silence >= DEFAULT.grace_max_s:
        assert down


@settings(max_examples=200, deadline=None)
@given(jitter=st.floats(min_value=0.0, max_value=0.1),
       count=st.integers(min_value=3, max_value=80),
       seed=st.randoms(use_true_random=False))
def test_a_dead_host_with_ordinary_jitter_is_found_within_the_grace(
    jitter: float, count: int, seed: object
) -> None:
    """Heartbeats within +-10% of the period, as agents send them: found at the grace
    (once it has sent three; before, the longest grace applies)."""
    rand = seed.random  # type: ignore[attr-defined]
    d, last = fed([1.0 + jitter * (2 * rand() - 1) for _ in range(count)])
    assert d.overdue(last + DEFAULT.grace_s + 1e-9) == ["n"]  # float rounding aside


@settings(max_examples=200, deadline=None)
@given(mean=st.floats(min_value=0.1, max_value=5.0),
       low=st.floats(min_value=0.0, max_value=3.0),
       high=st.floats(min_value=0.0, max_value=3.0))
def test_more_spread_never_means_less_time(mean: float, low: float, high: float) -> None:
    lo, hi = sorted((low, high))
    assert allowed_silence_s(mean, lo, DEFAULT) <= allowed_silence_s(mean, hi, DEFAULT)


@settings(max_examples=200, deadline=None)
@given(history=intervals, excused=st.floats(min_value=0.0, max_value=50.0),
       silence=st.floats(min_value=0.0, max_value=30.0), behind=st.booleans())
def test_an_excuse_only_ever_delays_the_verdict(
    history: list[float], excused: float, silence: float, behind: bool
) -> None:
    """Excused time, a stall of the loop (`excuse`) or being behind in reading calls
    (`behind_s`), never brings a verdict forward, and never one before the grace."""
    plain, last = fed(history)
    lenient, _ = fed(history)
    if not behind:
        lenient.excuse(excused)
    lag = excused if behind else 0.0
    if lenient.overdue(last + silence + excused, behind_s=lag):
        assert plain.overdue(last + silence + 1e-6)  # the same verdict, float rounding aside
    assert not lenient.overdue(last + min(silence, DEFAULT.grace_s - 0.01) + excused,
                               behind_s=lag)


@settings(max_examples=100, deadline=None)
@given(history=intervals, a=st.floats(min_value=0.0, max_value=30.0),
       b=st.floats(min_value=0.0, max_value=30.0))
def test_phi_never_falls_as_silence_grows(history: list[float], a: float, b: float) -> None:
    d, last = fed(history)
    lo, hi = sorted((a, b))
    assert d.phi("n", last + lo) <= d.phi("n", last + hi)

