"""Status batches that fail: the agent keeps its session and sends them again later.

At 1,000 nodes a server behind on its work answered status batches late (5 s
deadlines) or cancelled them, and every such failure ended the node's session: the
agent registered again, resent everything, and its node was declared down meanwhile
(891 live nodes in one run). The decision after a failed batch is pure
(`status_retry_s`); these tests hold it to: only a refusal that waiting cannot change
ends the session, any other failure waits (with jitter, growing, bounded) and honours
the server's hint, and the hint travels in the trailing metadata both ends read
(common/retryhint.py).
"""

from __future__ import annotations

import grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.agent.backoff import status_retry_s
from dockyard.common.retryhint import RETRY_AFTER_KEY, retry_after_metadata, retry_after_s

_ENDS = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
         grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION}
codes = st.sampled_from([c for c in grpc.StatusCode if c != grpc.StatusCode.OK])
rands = st.floats(min_value=0.0, max_value=0.999)


@settings(deadline=None)
@given(code=codes, failures=st.integers(min_value=1, max_value=10_000), rand=rands,
       hint=st.floats(min_value=0.0, max_value=1e6))
def test_only_a_refusal_waiting_cannot_change_ends_the_session(
    code: grpc.StatusCode, failures: int, rand: float, hint: float,
) -> None:
    wait = status_retry_s(code, failures, rand, hint)
    if code in _ENDS:
        assert wait is None
        return
    assert wait is not None
    assert wait >= min(hint, 30.0)  # the server's hint, up to 30 s, is honoured
    assert 0.1 <= wait <= max(8.0, 30.0 * 1.25)  # never at once, never unbounded


def test_slow_and_cancelled_batches_are_sent_again_not_the_session_ended() -> None:
    for code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
                 grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE,
                 grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
        assert status_retry_s(code, 1, 0.5) is not None
        assert status_retry_s(code, 1000, 0.5) is not None  # however long it lasts


@settings(deadline=None)
@given(failures=st.integers(min_value=1, max_value=60), rand=rands)
def test_waits_grow_with_failures_in_a_row_and_are_jittered(failures: int, rand: float) -> None:
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    now = status_retry_s(code, failures, rand)
    later = status_retry_s(code, failures + 1, rand)
    assert now is not None and later is not None
    assert later >= now
    lowest, highest = status_retry_s(code, failures, 0.0), status_retry_s(code, failures, 0.999)
    assert lowest is not None and highest is not None
    assert highest > lowest  # agents that failed together come back spread out


@settings(deadline=None)
@given(hint=st.floats(min_value=0.0, max_value=30.0), rand=rands)
def test_agents_refused_together_come_back_spread_over_a_quarter_of_the_hint(
    hint: float, rand: float,
) -> None:
    wait = status_retry_s(grpc.StatusCode.RESOURCE_EXHAUSTED, 1, rand, hint)
    assert wait is not None
    assert wait <= max(0.2, hint * 1.25)


@settings(deadline=None)
@given(wait=st.floats(min_value=0.0, max_value=3600.0))
def test_the_hint_reads_back_to_the_millisecond(wait: float) -> None:
    assert abs(retry_after_s(retry_after_metadata(wait)) - wait) <= 0.0005


def test_a_missing_or_garbled_hint_asks_for_no_wait() -> None:
    assert retry_after_s(None) == 0.0
    assert retry_after_s(()) == 0.0
    assert retry_after_s((("other", "5"),)) == 0.0
    assert retry_after_s(((RETRY_AFTER_KEY, "soon"),)) == 0.0
    assert retry_after_s(((RETRY_AFTER_KEY, "-40"),)) == 0.0
    assert retry_after_s(((RETRY_AFTER_KEY, b"1500"),)) == 1.5
