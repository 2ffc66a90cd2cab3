"""Judging the nodes whose session stream closed at the moment they come due
(controlplane/detector.py: `closed_due_in_s`, `overdue_closed`).

The replica judges every node each tick (0.25 s). A node whose stream closed (its host
lost) may come due between two ticks; the replica then judges those nodes at that moment
(controlplane/liveness.py), by the same bounds. What an operator relies on:
- a lost host's node is declared as soon as its silence reaches what it is allowed
  (the grace, its own jitter's allowance, the herd's lateness), not up to a tick later;
- never before: not one moment earlier than the tick-by-tick judgement would allow;
- a live node, beating, is never declared by it.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.detector import DetectorSettings, FailureDetector

DEFAULT = DetectorSettings()
TICK_S = 0.25
EPS = 1e-6


def _beating(seed: int, nodes: int, until: float) -> list[tuple[float, str]]:
    """Heartbeats about every period (+-10%) from each node, from a random phase."""
    rand = random.Random(seed)
    sends = []
    for i in range(nodes):
        t = rand.uniform(0.0, 1.0)
        while t < until:
            sends.append((t, f"n{i:03d}"))
            t += DEFAULT.period_s * rand.uniform(0.9, 1.1)
    return sorted(sends)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), nodes=st.integers(10, 40),
       dying=st.integers(1, 8), die_at=st.floats(22.0, 30.0),
       behind=st.sampled_from([0.0, 0.0, 0.3]))
def test_a_lost_nodes_are_declared_when_due_not_a_tick_later(
        seed: int, nodes: int, dying: int, die_at: float, behind: float) -> None:
    """`dying` nodes stop at `die_at` and their streams close; the others beat on. The
    replica ticks every 0.25 s and, between ticks, wakes when a closed node comes due:
    each dead node is declared at its last heartbeat + its allowed silence (+ what the
    replica is behind), within a millisecond, and no live node is declared."""
    d = FailureDetector(DEFAULT)
    dead = {f"n{i:03d}" for i in range(dying)}
    sends = [(t, n) for t, n in _beating(seed, nodes, 45.0) if n not in dead or t < die_at]
    last = {n: max(t for t, m in sends if m == n) for n in dead}
    declared: dict[str, float] = {}
    allowed: dict[str, float] = {}
    i, now, tick_at, closed = 0, 0.0, TICK_S, False
    herds = [0.0]  # the herd's lateness at each judgement once the nodes died

    def hear_until(t: float) -> None:
        nonlocal i
        while i < len(sends) and sends[i][0] <= t:
            d.heard(sends[i][1], sends[i][0])
            i += 1

    for _ in range(10_000):  # bounded: 45 s in ticks and wakes
        if now >= 45.0:
            break
        due = d.closed_due_in_s(now, behind)
        if due is not None and now + due < tick_at:
            now = now + max(due, EPS)
            hear_until(now)
            found = d.overdue_closed(now, behind)
        else:
            now = tick_at
            hear_until(now)
            found = d.overdue(now, behind)
            tick_at = now + TICK_S
            if closed:
                herds.append(d.herd_s)
        if not closed and now >= die_at + 0.05:
            closed = True
            for n in dead:
                allowed[n] = d.allowed_s(n)
                d.disconnected(n)
        for n in found:
            declared[n] = now
            d.forget(n)
    assert set(declared) == dead
    for n in dead:
        # Never before its own allowance; at most the herd's lateness (a few ms of the
        # live nodes' jitter) after it, never a tick.
        due_at = last[n] + allowed[n] + behind
        assert due_at - EPS <= declared[n] <= due_at + max(herds) + 1e-3
    assert max(herds) < 0.1


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), herd=st.floats(0.0, 2.0), behind=st.floats(0.0, 1.0),
       at=st.floats(0.0, 12.0))
def test_closed_due_in_s_is_the_moment_overdue_closed_first_names_one(
        seed: int, herd: float, behind: float, at: float) -> None:
    """Whatever the histories, the herd's lateness and how far behind the replica is:
    none of the closed nodes is overdue before the time `closed_due_in_s` gives, and one
    is at that time; with no closed stream it gives None."""
    rand = random.Random(seed)
    d = FailureDetector(DEFAULT)
    assert d.closed_due_in_s(0.0) is None
    for k in range(6):
        name = f"n{k}"
        t = rand.uniform(0.0, 1.0)
        for _ in range(rand.randint(1, 25)):
            d.heard(name, t)
            t += rand.uniform(0.3, 2.5)
        if k % 2:
            d.disconnected(name)
    d.herd_s = herd
    now = 30.0 + at
    due = d.closed_due_in_s(now, behind)
    assert due is not None
    if due > EPS:
        assert d.overdue_closed(now + due - EPS, behind) == []
    assert d.overdue_closed(now + due + EPS, behind) != []
    assert all(not d.is_connected(n) for n in d.overdue_closed(now + 100.0, behind))
