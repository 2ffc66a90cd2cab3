"""When an agent's beat on the Heartbeats stream asks for an answer, and when the
agent gives the session up (agent/heartbeats.py: pure logic)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.agent.heartbeats import ASK, ASK_EVERY, GIVE_UP, GIVE_UP_S, SEND, Ledger, next_beat
from dockyard.v1 import dispatcher_pb2


def test_a_new_stream_asks_first_then_every_fifth_beat() -> None:
    ledger = Ledger(period=1.0, answered_at=0.0)
    kinds = []
    for _ in range(3 * ASK_EVERY):
        what = next_beat(ledger.since_ask, 0.0)
        ledger.sent(what == ASK)
        kinds.append(what)
    assert kinds == ([ASK] + [SEND] * (ASK_EVERY - 1)) * 3


def test_the_session_is_given_up_only_after_the_whole_window_of_silence() -> None:
    assert next_beat(0, GIVE_UP_S) != GIVE_UP
    assert next_beat(ASK_EVERY, GIVE_UP_S + 0.01) == GIVE_UP


def test_an_answer_keeps_the_period_unless_it_names_one() -> None:
    ledger = Ledger(period=1.0, answered_at=0.0)
    ledger.answered(dispatcher_pb2.HeartbeatResponse(period_ms=2000), now=5.0)
    assert (ledger.period, ledger.answered_at, ledger.answers) == (2.0, 5.0, 1)
    ledger.answered(dispatcher_pb2.HeartbeatResponse(), now=6.0)
    assert ledger.period == 2.0


@settings(deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60))
def test_beats_ask_at_most_and_at_least_every_fifth_whatever_the_answers(
    events: list[tuple[bool, bool]],
) -> None:
    """Each event: a beat is due (answered or not while it is written), and maybe the
    stream is opened again. Asks are ASK_EVERY beats apart, the first beat of every
    stream asks, and no beat is ever skipped."""
    ledger = Ledger(period=1.0, answered_at=0.0)
    since_ask = None
    first = True
    for answered, reopen in events:
        if reopen:
            ledger.reopened()
            first = True
        what = next_beat(ledger.since_ask, 0.0)
        assert what in (ASK, SEND)
        ledger.sent(what == ASK)
        if answered:
            ledger.answered(dispatcher_pb2.HeartbeatResponse(period_ms=1000), now=1.0)
        if first:
            assert what == ASK
        elif since_ask is not None:
            assert (what == ASK) == (since_ask == ASK_EVERY - 1)
        since_ask = 0 if what == ASK else (since_ask or 0) + 1
        first = False
