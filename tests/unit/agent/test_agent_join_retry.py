"""An agent told "too many joins" waits and asks again, never gives up, and a
Register that timed out in a busy server's queue is not sent again at once.

In a 1,000-node join on a server short of CPU, Registers waited out their 30 s in the
server's queue and their agents came back 0.1-0.2 s later on a new connection: more of
the load that made them late. The waits are pure (`register_retry_s`,
`session_backoff_s`); these tests hold them to their promises.
"""

from __future__ import annotations

import grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.agent.backoff import register_retry_s, session_backoff_s

rands = st.floats(min_value=0.0, max_value=0.999)


@settings(deadline=None)
@given(refusals=st.integers(min_value=1, max_value=100_000), rand=rands,
       hint=st.floats(min_value=0.0, max_value=1e9))
def test_a_refused_register_waits_as_the_server_asks_within_bounds(
        refusals: int, rand: float, hint: float) -> None:
    wait = register_retry_s(refusals, rand, hint)
    assert wait >= min(hint, 60.0)  # the server's wait is honoured (up to a minute)
    assert wait >= 0.1  # never straight back, even without a hint
    assert wait <= max(4.0, min(hint, 60.0) * 1.1)  # and bounded: the agent keeps asking


def test_without_a_hint_the_wait_grows_with_refusals_and_is_jittered() -> None:
    assert register_retry_s(1, 0.0) < register_retry_s(3, 0.0) < register_retry_s(6, 0.0)
    assert len({register_retry_s(5, r / 10, 2.0) for r in range(10)}) == 10


@settings(deadline=None)
@given(failures=st.integers(min_value=1, max_value=100_000), rand=rands)
def test_a_register_that_timed_out_is_not_sent_again_at_once(failures: int, rand: float) -> None:
    for code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
                 grpc.StatusCode.RESOURCE_EXHAUSTED):
        assert 0.5 <= session_backoff_s(failures, rand, code) <= 15.0
    assert session_backoff_s(failures, rand, None) <= 4.0  # unreachable: come back soon
