"""The node table sent as changes (common/peertable.py): whatever a session missed, the
agent that applies what it is sent holds the server's table."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.common import peertable
from dockyard.common.peertable import PeerLog, PeerRow
from dockyard.v1 import dispatcher_pb2

NAMES = [f"n{i}" for i in range(6)]
ROWS: list[PeerRow | None] = [None, ("192.0.2.1", "10.0.1.0/24"), ("192.0.2.2", "10.0.2.0/24"),
                              ("192.0.2.1", "10.0.3.0/24")]

# A step: a row taken, a reset (a reload) or a publication; then which of three sessions
# take their turn (a session that does not skips epochs, as a busy or paced one does).
turns = st.tuples(st.booleans(), st.booleans(), st.booleans())
take = st.tuples(st.just("take"), st.sampled_from(NAMES), st.sampled_from(ROWS), turns)
reset = st.tuples(st.just("reset"), st.dictionaries(
    st.sampled_from(NAMES), st.sampled_from([r for r in ROWS if r is not None])), st.none(),
    turns)
publish = st.tuples(st.just("publish"), st.none(), st.none(), turns)
step = st.one_of(take, reset, publish)


def _receive(log: PeerLog, epoch: int,
             table: dict[str, PeerRow] | None) -> tuple[int, dict[str, PeerRow] | None]:
    """One session's turn: what the server sends it (as the Session handler does), parsed
    as the agent parses it, applied to the agent's table."""
    wire = log.since(epoch)
    if wire:
        table = peertable.apply(table, dispatcher_pb2.SessionMessage.FromString(wire))
    return log.epoch, table


@settings(deadline=None, max_examples=500)
@given(steps=st.lists(step, max_size=40), history=st.integers(1, 4))
def test_applying_what_is_sent_always_gives_the_published_table(
        steps: list[tuple[str, object, object, tuple[bool, bool, bool]]],
        history: int) -> None:
    log = PeerLog(history=history)
    # Three sessions, each holding (the epoch it sent, its agent's table).
    sessions: list[tuple[int, dict[str, PeerRow] | None]] = [(-1, None)] * 3
    for kind, a, b, goes in steps:
        if kind == "take":
            log.take(a, b)  # type: ignore[arg-type]
        elif kind == "reset":
            log.reset(a)  # type: ignore[arg-type]
            log.publish()
        else:
            log.publish()
        for s, go in enumerate(goes):
            if go:
                sessions[s] = _receive(log, *sessions[s])
                if kind != "take":
                    assert sessions[s][1] == log.rows
    log.publish()  # whatever was taken goes out
    for s in range(3):
        epoch, table = _receive(log, *sessions[s])
        assert epoch == log.epoch and table == log.rows


def test_a_new_session_gets_the_whole_table_then_only_the_rows_that_changed() -> None:
    log = PeerLog()
    for i in range(100):
        log.take(f"n{i:03}", (f"192.0.2.{i}", f"10.0.{i}.0/24"))
    log.publish()
    first = dispatcher_pb2.SessionMessage.FromString(log.since(-1))
    assert first.has_peers and len(first.peers) == 100 and not first.peer_changes
    log.take("n100", ("192.0.2.100", "10.0.100.0/24"))
    log.take("n007", None)
    log.publish()
    then = dispatcher_pb2.SessionMessage.FromString(log.since(1))
    assert not then.has_peers
    assert [(p.name, p.address) for p in then.peer_changes] == [("n007", ""),
                                                                 ("n100", "192.0.2.100")]
    table = peertable.apply(peertable.apply(None, first), then)
    assert table is not None and "n007" not in table and len(table) == 100
    assert log.since(log.epoch) == b""


def test_changes_without_a_whole_table_first_are_not_a_table() -> None:
    msg = dispatcher_pb2.SessionMessage(peer_changes=[
        dispatcher_pb2.Peer(name="n1", address="192.0.2.1", subnet="10.0.1.0/24")])
    assert peertable.apply(None, msg) is None


def test_the_receiving_node_is_left_out_of_what_its_network_is_given() -> None:
    table = {"b": ("192.0.2.2", "10.0.2.0/24"), "a": ("192.0.2.1", "10.0.1.0/24")}
    assert [p.name for p in peertable.peers_of(table, skip="b")] == ["a"]
