"""The failure detector judging a node against the others it hears from at the same time
(controlplane/detector.py: the herd, a closed stream).

What an operator relies on, on a replica that holds many nodes:
- a node silent past the grace while the others keep beating is declared within the
  grace (and one judgement tick), even after a mass join or a big apply made every
  node's heartbeats jittery;
- a cluster that is late all at once (the server, or the path to it, stalled in a way
  its own clock did not see) declares nobody, however long the stall, up to the
  longest grace;
- most nodes silent together are still declared, at the longest grace;
- nodes whose session stream closed do not make the herd look late.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dockyard.controlplane.detector import HERD_SPAN_S, DetectorSettings, FailureDetector

DEFAULT = DetectorSettings()  # 1 s heartbeats, 4 s grace, 10 s at most
TICK_S = 0.25  # how often the replica judges (controlplane/liveness.py)


@dataclass
class Cluster:
    """Nodes beating about every period (+-10%, as agents do) at one replica, judged
    every TICK_S. `stalls` are spans in which no heartbeat is read; the ones sent then
    are all read at the span's end. `dead` nodes stop at the time given."""

    nodes: int
    seed: int = 0
    stalls: list[tuple[float, float]] = field(default_factory=list)
    dead: dict[str, float] = field(default_factory=dict)
    behind_s: float = 0.0

    def names(self) -> list[str]:
        return [f"n{i:03d}" for i in range(self.nodes)]

    def run(self, until: float, detector: FailureDetector | None = None
            ) -> tuple[FailureDetector, dict[str, float]]:
        """Returns the detector and when each node was first found overdue."""
        rand = random.Random(self.seed)
        d = detector or FailureDetector(DEFAULT)
        sends: list[tuple[float, str]] = []
        for name in self.names():
            t = rand.uniform(0.0, 1.0)
            stop = self.dead.get(name, until)
            while t < min(stop, until):
                sends.append((t, name))
                t += DEFAULT.period_s * rand.uniform(0.9, 1.1)
        arrivals = sorted((self._read_at(t), name) for t, name in sends)
        declared: dict[str, float] = {}
        i = 0
        now = 0.0
        while now < until:
            now += TICK_S
            while i < len(arrivals) and arrivals[i][0] <= now:
                at, name = arrivals[i]
                d.heard(name, at)
                i += 1
            for name in d.overdue(now, self.behind_s):
                declared.setdefault(name, now)
                d.forget(name)
        return d, declared

    def _read_at(self, sent: float) -> float:
        for start, end in self.stalls:
            if start <= sent < end:
                return end
        return sent + self.behind_s


def test_a_node_silent_while_the_others_beat_is_declared_at_the_grace() -> None:
    cluster = Cluster(nodes=50, dead={"n007": 30.0})
    _, declared = cluster.run(60.0)
    assert list(declared) == ["n007"]
    # Its last heartbeat was at most 1.1 s before it stopped.
    assert 30.0 + DEFAULT.grace_s - 1.1 <= declared["n007"] <= 30.0 + DEFAULT.grace_s + TICK_S


def test_jitter_everyone_shared_does_not_stretch_a_dead_nodes_grace() -> None:
    """Stalls of 3 s that every node suffered (a mass join, a big apply), then one node
    dies: it is declared at the grace, not at the longest grace."""
    cluster = Cluster(nodes=50, stalls=[(5.0, 8.0), (12.0, 15.0), (19.0, 22.0)],
                      dead={"n003": 26.0})
    _, declared = cluster.run(45.0)
    assert list(declared) == ["n003"]
    assert declared["n003"] <= 26.0 + DEFAULT.grace_s + TICK_S


def test_a_node_late_on_its_own_keeps_its_phi_allowance() -> None:
    """The herd beats on time; one loaded host's heartbeats came 0.5-3 s apart: it gets
    more than the grace (but not more than the longest)."""
    d = FailureDetector(DEFAULT)
    t = 0.0
    gaps = [0.5, 3.0, 1.0, 2.5, 0.6, 3.0, 1.2, 0.8, 2.8, 1.0] * 2
    for gap in gaps:
        t += gap
        d.heard("slow", t)
    assert DEFAULT.grace_s < d.allowed_s("slow") <= DEFAULT.grace_max_s


def test_a_node_whose_stream_closed_is_left_out_of_the_herd() -> None:
    """Forty of sixty nodes stop at once and their streams close (a process of hollow
    nodes killed): they do not make the herd look late, so they are declared at the
    grace like any dead node with a steady history, not at the longest grace."""
    d = FailureDetector(DEFAULT)
    dead = {f"n{i:03d}" for i in range(40)}
    declared: dict[str, float] = {}
    t = 0.0
    while t < 40.0:
        t = round(t + TICK_S, 2)
        for i in range(60):
            name = f"n{i:03d}"
            if name in declared or (name in dead and t > 20.0):
                continue
            if abs((t + i / 60) % 1.0) < TICK_S:  # one heartbeat a second each
                d.heard(name, t)
        if t == 20.25:
            for name in dead:
                d.disconnected(name)
        for name in d.overdue(t):
            declared.setdefault(name, t)
            d.forget(name)
    assert not d.is_connected("n000") or "n000" in declared
    assert set(declared) == dead
    assert all(at <= 20.0 + DEFAULT.grace_s + TICK_S for at in declared.values())


def test_most_nodes_silent_together_are_declared_at_the_longest_grace() -> None:
    dead = {f"n{i:03d}": 20.0 for i in range(30)}
    _, declared = Cluster(nodes=40, dead=dead).run(40.0)
    assert set(declared) == set(dead)
    assert all(20.0 + DEFAULT.grace_max_s - 1.1 <= at <= 20.0 + DEFAULT.grace_max_s + TICK_S
               for at in declared.values())


def test_a_replica_steadily_behind_still_finds_a_dead_node() -> None:
    """Heartbeats read 1.5 s after they were sent, all the time (the self-probe says
    so): nobody live is declared, and a dead node is found by the grace plus that
    delay, counted once from its last heartbeat's sending and once as excused."""
    _, declared = Cluster(nodes=20, behind_s=1.5, dead={"n001": 20.0}).run(40.0)
    assert list(declared) == ["n001"]
    assert declared["n001"] <= 20.0 + 2 * 1.5 + DEFAULT.grace_s + TICK_S


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(min_value=5, max_value=60),
       start=st.floats(min_value=3.0, max_value=20.0),
       stall=st.floats(min_value=0.5, max_value=DEFAULT.grace_max_s - 1.5),
       seed=st.integers(min_value=0, max_value=1000))
def test_a_uniformly_late_cluster_declares_nobody(
    nodes: int, start: float, stall: float, seed: int
) -> None:
    """No heartbeat is read for up to the longest grace (less a beat), unseen by the
    replica's own clock and self-probe; then they all arrive. Nobody is declared."""
    _, declared = Cluster(nodes=nodes, seed=seed, stalls=[(start, start + stall)]).run(
        start + stall + 15.0)
    assert declared == {}


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(min_value=10, max_value=60),
       dies=st.floats(min_value=8.0, max_value=25.0),
       stalls=st.lists(st.tuples(st.floats(min_value=1.0, max_value=20.0),
                                  st.floats(min_value=0.5, max_value=4.0)), max_size=4),
       seed=st.integers(min_value=0, max_value=1000))
# The herd 6 ms late by the agents' jitter alone once pushed this past a tick (HERD_NOISE).
@example(nodes=10, dies=21.74609375, stalls=[], seed=10)
def test_a_dead_node_among_beating_peers_is_found_within_the_grace_and_a_tick(
    nodes: int, dies: float, stalls: list[tuple[float, float]], seed: int
) -> None:
    """Whatever stalls the whole cluster went through before (each over before the
    node dies, and each starting once the replica has heard from every node: the herd
    is made of the nodes it knows), a node that dies while the others beat is declared
    by the grace plus one judgement tick, and nobody else is. The heartbeats a stall
    queued, read together at its end, do not count as this node's jitter. A node that
    dies within HERD_SPAN_S of a stall's end may be given up to HERD_SPAN_S more: the
    stall's late heartbeats still make the herd's lateness then (a stall of 4.5 s ending
    0.5 s before the death was declared 4.75 s after it)."""
    spans = [(a, min(a + length, dies - 0.5)) for a, length in stalls if a < dies - 1.0]
    cluster = Cluster(nodes=nodes, seed=seed, stalls=spans, dead={"n000": dies})
    _, declared = cluster.run(dies + 20.0)
    assert list(declared) == ["n000"]
    herd_on_time = all(end <= dies - HERD_SPAN_S for _, end in spans)
    slack = 0.0 if herd_on_time else HERD_SPAN_S
    assert declared["n000"] <= dies + DEFAULT.grace_s + TICK_S + slack
