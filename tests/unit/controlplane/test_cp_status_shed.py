"""The server sheds status calls early and cheaply (controlplane/api/statuses.py).

A status call is refused at once, before any work, with a wait for its sender, when its
deadline is all but spent on arrival (it waited in gRPC's queue; its answer would be too
late and it would come again) or when it would take the statuses waiting to be written
past a bound (a queue that cannot grow without end). Otherwise it is taken; a call is
always taken when nothing waits, so any batch, however big, gets written.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.api.statuses import MIN_LEFT_S, SHED_WAIT_S, shed_wait_s

LIMIT = 5_000
backlogs = st.integers(min_value=0, max_value=50_000)
incoming = st.integers(min_value=1, max_value=2_000)
lefts = st.one_of(st.none(), st.floats(min_value=0.0, max_value=60.0))
rates = st.floats(min_value=0.0, max_value=1e6)


@settings(deadline=None)
@given(backlog=backlogs, n=incoming, left=lefts, rate=rates)
def test_a_refusal_asks_for_a_bounded_wait_and_a_taken_call_for_none(
    backlog: int, n: int, left: float | None, rate: float,
) -> None:
    wait = shed_wait_s(backlog, n, left, rate, limit=LIMIT)
    low, high = SHED_WAIT_S
    assert wait == 0.0 or low <= wait <= high
    spent = left is not None and left < MIN_LEFT_S
    over = backlog > 0 and backlog + n > LIMIT
    assert (wait > 0) == (spent or over)


@settings(deadline=None)
@given(n=incoming, left=st.one_of(st.none(), st.floats(min_value=MIN_LEFT_S, max_value=60.0)),
       rate=rates)
def test_with_nothing_waiting_any_call_with_time_left_is_taken(
    n: int, left: float | None, rate: float,
) -> None:
    assert shed_wait_s(0, n * 100, left, rate, limit=LIMIT) == 0.0


@settings(deadline=None)
@given(backlog=st.integers(min_value=LIMIT, max_value=50_000), more=st.integers(0, 50_000),
       rate=st.floats(min_value=1.0, max_value=1e5))
def test_a_longer_backlog_never_asks_for_a_shorter_wait(
    backlog: int, more: int, rate: float,
) -> None:
    assert shed_wait_s(backlog + more, 1, None, rate, limit=LIMIT) >= shed_wait_s(
        backlog, 1, None, rate, limit=LIMIT)
