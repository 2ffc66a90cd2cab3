"""Failure detection over heartbeat arrival times: a phi-accrual detector. Pure.

A fixed timeout has to be chosen for the worst host: too short and a loaded host (or a
busy control plane) is declared down while it is healthy, which moves all its tasks; too
long and a dead host is found late. The phi-accrual detector (Hayashibara et al., the one
Cassandra and Akka use) judges each node by its own history instead. It keeps the last
inter-arrival times of the node's heartbeats and asks how unlikely the current silence
is under a normal distribution fitted to them: phi = -log10(P(the next heartbeat comes
later than this)). A node is suspected when phi reaches the threshold (8: a one in a
hundred million chance that a live node would be this late).

Dockyard bounds that judgement on both sides, so the operator's `--node-grace` keeps
its meaning:
- never before `grace_s` of silence: a node with steady heartbeats is declared down
  exactly at the grace, as before, so a dead host is still found within it;
- always at `grace_max_s`: a node whose history is very jittery gets more time, but a
  dead one is still found.

Time here is the detector's own clock: the caller excuses the time the server itself
was not looking (its event loop was stalled or saturated, `excuse`), and says how far
behind it is in reading calls right now (`overdue(now, behind_s)`), so a busy server
does not blame the nodes for heartbeats it could not read. A node that has registered
gets the longest grace until it has a few heartbeat intervals (`PROBATION`): in a
mass join, opening its session can take longer than the grace, and there is no history
yet to judge it by.

Two more things tell a node's own silence from the server's or the network's:
- **The herd.** The replica hears from many nodes at once. If most of them are late at
  the same time (the server, or the path to it, is slow), that lateness is nobody's:
  `herd_lag_s` (the median lateness of the heartbeats that arrived in the last two
  seconds, or the median silence of all nodes when none arrive) is excused from every
  node's silence, and left out of the intervals a node's jitter is judged by. So the
  jitter of a mass join or a big apply, which every node shows, does not stretch
  anyone's grace afterwards; a node late on its own still gets its phi allowance. If
  most nodes go silent together, the replica cannot tell its own trouble from theirs:
  they are declared at the longest grace, not before.
- **The connection.** A node whose session stream has closed (its agent's process died,
  its host was reset, or its agent is registering again) is left out of the herd's
  silences: its silence is explained. It is judged as any other node: a storm closes
  the streams of live agents too, and they may take longer than the grace to register
  again through a slow server (measured at a load of 37: judging them by the grace
  alone declared thousands of live nodes).

Everything in this module is pure: the caller passes every time in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import NormalDist, median

DEFAULT_THRESHOLD = 8.0
# Intervals kept per node: at the default 1 s period, the last 20 s. Jitter older than
# that (a mass join, a big apply) no longer stretches anyone's grace.
DEFAULT_WINDOW = 20
# Heartbeat intervals a node must have sent before it is judged by the grace and its
# history rather than by the longest grace.
PROBATION = 3
# The herd says something only with at least this many nodes (or recent arrivals).
HERD_MIN = 5
# Arrivals whose lateness makes the herd's lateness, in seconds of detector time.
HERD_SPAN_S = 2.0
# Agents jitter each wait between beats by +-10% of the period (agent/backoff.py), so
# the herd looks a few milliseconds late or early by chance alone; a herd no later than
# this share of the period is on time.
HERD_NOISE = 0.1


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How the detector judges. `period_s` is the heartbeat period agents are told."""

    period_s: float = 1.0
    grace_s: float = 4.0
    grace_max_s: float = 10.0
    threshold: float = DEFAULT_THRESHOLD
    window: int = DEFAULT_WINDOW

    def problem(self) -> str | None:
        """One line saying what is wrong with these settings, or None. Pure."""
        if not self.period_s > 0:
            return "the heartbeat period must be above 0"
        if self.grace_s < self.period_s:
            return (f"the node grace ({self.grace_s:g}s) must be at least the heartbeat "
                    f"period ({self.period_s:g}s)")
        if self.grace_max_s < self.grace_s:
            return (f"the longest node grace ({self.grace_max_s:g}s) must be at least the "
                    f"node grace ({self.grace_s:g}s)")
        if not 0 < self.threshold <= 15:
            return "the phi threshold must be in (0, 15]"
        if self.window < 2:
            return "the detector window must hold at least 2 intervals"
        return None

    @property
    def min_std_s(self) -> float:
        """The least spread assumed: perfectly regular heartbeats would otherwise make
        any lateness infinitely suspicious."""
        return self.period_s / 10

    @property
    def z(self) -> float:
        """Standard deviations above the mean at which phi reaches the threshold."""
        return NormalDist().inv_cdf(1.0 - 10.0 ** -self.threshold)


def phi(elapsed_s: float, mean_s: float, std_s: float) -> float:
    """-log10 of the chance that a heartbeat with inter-arrival times ~ N(mean, std^2)
    comes later than `elapsed_s` after the last one. 0 when it is not late at all, and
    infinite beyond what a double can express. Pure."""
    std = max(std_s, 1e-9)
    tail = 0.5 * math.erfc((elapsed_s - mean_s) / (std * math.sqrt(2.0)))
    if tail <= 0.0:
        return math.inf
    return max(0.0, -math.log10(min(1.0, tail)))


def allowed_silence_s(mean_s: float, std_s: float, settings: DetectorSettings) -> float:
    """How long a node with this history may stay silent before it is declared down:
    where phi reaches the threshold, but at least the grace and at most the longest
    grace. Pure."""
    suspect_at = mean_s + settings.z * max(std_s, settings.min_std_s)
    return min(settings.grace_max_s, max(settings.grace_s, suspect_at))


@dataclass(slots=True)
class ArrivalHistory:
    """One node's last heartbeat and the intervals before it (in detector time)."""

    last: float
    intervals: deque[float] = field(default_factory=deque)
    total: float = 0.0
    squares: float = 0.0
    registered: bool = False  # `last` is the registration: the next gap is no interval
    connected: bool = True  # its session stream is open (or not yet opened)

    def record(self, now: float, window: int, *, excused_s: float = 0.0,
               period_s: float = 0.0) -> float | None:
        """A heartbeat sent at `now`; returns the gap since the one before (None for the
        first after registration). The interval kept is the gap less `excused_s` (the
        herd's lateness at the time), but not below the gap or `period_s`, whichever is
        less (not below `period_s` while the herd is late): lateness everyone shared is
        not this node's jitter."""
        if self.registered:
            # Registration to first heartbeat is the agent opening its session, not a
            # heartbeat interval: it would make a steady node look jittery for a minute.
            self.registered = False
            self.last = max(self.last, now)
            return None
        gap = max(0.0, now - self.last)
        self.last = max(self.last, now)
        # While the herd is late, a gap under the period is a heartbeat that queued
        # behind the late one and was read with it: not this node's jitter either.
        floor = period_s if excused_s > 0 else min(gap, period_s)
        self.keep(max(floor, gap - excused_s), window)
        return gap

    def keep(self, interval: float, window: int) -> None:
        interval = max(0.0, interval)
        self.intervals.append(interval)
        self.total += interval
        self.squares += interval * interval
        while len(self.intervals) > window:
            old = self.intervals.popleft()
            self.total -= old
            self.squares -= old * old

    def stats(self, settings: DetectorSettings) -> tuple[float, float]:
        """(mean, standard deviation) of the intervals; the heartbeat period and a
        quarter of it until there are a few intervals to go by."""
        n = len(self.intervals)
        if n < 3:
            return settings.period_s, settings.period_s / 4
        mean = self.total / n
        variance = max(0.0, self.squares / n - mean * mean)
        return mean, math.sqrt(variance)


@dataclass
class FailureDetector:
    """The arrival histories of the nodes one replica hears from, and its clock.

    `now` arguments are the caller's monotonic seconds; the detector subtracts the time
    it was told to excuse. Pure: nothing here reads a clock or does I/O.
    """

    settings: DetectorSettings = field(default_factory=DetectorSettings)
    excused_s: float = 0.0
    nodes: dict[str, ArrivalHistory] = field(default_factory=dict)
    # (detector time of arrival, lateness) of the recent heartbeats, for the herd.
    arrivals: deque[tuple[float, float]] = field(default_factory=deque)
    # The herd's lateness at the last judgement (`overdue`), excused from the intervals
    # of the heartbeats that arrive until the next one.
    herd_s: float = 0.0

    def _t(self, now: float) -> float:
        return now - self.excused_s

    def heard(self, node: str, now: float) -> None:
        """A heartbeat (or a registration) from `node` was read at `now`."""
        t = self._t(now)
        history = self.nodes.get(node)
        if history is None:
            self.nodes[node] = ArrivalHistory(last=t)
            return
        history.connected = True
        gap = history.record(t, self.settings.window, excused_s=self.herd_s,
                             period_s=self.settings.period_s)
        if gap is not None:
            self.arrivals.append((t, max(0.0, gap - self.settings.period_s)))
            while self.arrivals and self.arrivals[0][0] < t - HERD_SPAN_S:
                self.arrivals.popleft()

    def registered(self, node: str, now: float) -> None:
        """`node` registered at `now` (a fresh history: an agent that came back starts
        over)."""
        self.nodes[node] = ArrivalHistory(last=self._t(now), registered=True)

    def disconnected(self, node: str) -> None:
        """`node`'s session stream closed: no heartbeat of its is on the way."""
        history = self.nodes.get(node)
        if history is not None:
            history.connected = False

    def is_connected(self, node: str) -> bool:
        """False when `node`'s session stream has closed (and nothing heard since)."""
        history = self.nodes.get(node)
        return history is None or history.connected

    def forget(self, node: str) -> None:
        self.nodes.pop(node, None)

    def excuse(self, seconds: float) -> None:
        """The server could not read heartbeats for `seconds`: that silence is nobody's."""
        if seconds > 0:
            self.excused_s += seconds

    def silence_s(self, node: str, now: float) -> float:
        history = self.nodes.get(node)
        return 0.0 if history is None else max(0.0, self._t(now) - history.last)

    def phi(self, node: str, now: float) -> float:
        history = self.nodes.get(node)
        if history is None:
            return 0.0
        mean, std = history.stats(self.settings)
        return phi(self._t(now) - history.last, mean,
                   max(std, self.settings.min_std_s))

    def allowed_s(self, node: str) -> float:
        history = self.nodes.get(node)
        if history is None:
            return self.settings.grace_s
        return self._allowed(history)

    def _allowed(self, history: ArrivalHistory) -> float:
        if len(history.intervals) < PROBATION:
            # Registered, hardly any heartbeat yet: the agent is still opening its
            # session (a new TLS channel, then a period's wait), slowly when a thousand
            # nodes join at once, and there is no history to judge its jitter by. It
            # gets the longest grace until it has one.
            return self.settings.grace_max_s
        mean, std = history.stats(self.settings)
        return allowed_silence_s(mean, std, self.settings)

    def herd_lag_s(self, now: float, behind_s: float = 0.0) -> float:
        """How late the nodes this replica hears from are, together, right now: the
        median lateness of the heartbeats that arrived in the last HERD_SPAN_S, or, when
        fewer arrived, the median silence (beyond one period) of the nodes with a
        heartbeat since they registered; 0 with fewer than HERD_MIN of either, and 0
        when no later than the agents' own jitter (HERD_NOISE of the period). Nodes
        whose stream closed are left out: their silence is explained."""
        t = self._t(now)
        recent = [late for at, late in self.arrivals if at >= t - HERD_SPAN_S]
        by_arrivals = median(recent) if len(recent) >= HERD_MIN else 0.0
        silences = [t - max(0.0, behind_s) - h.last for h in self.nodes.values()
                    if h.connected and not h.registered]
        lag = by_arrivals
        if len(silences) >= HERD_MIN:
            lag = max(by_arrivals, median(silences) - self.settings.period_s, 0.0)
        return lag if lag > HERD_NOISE * self.settings.period_s else 0.0

    def is_overdue(self, node: str, now: float, behind_s: float = 0.0,
                   herd_s: float = 0.0) -> bool:
        """Whether `node` is overdue now (see `overdue`); False for an unknown node."""
        history = self.nodes.get(node)
        if history is None:
            return False
        silence = self._t(now) - max(0.0, behind_s) - history.last
        if silence >= self.settings.grace_max_s:
            return True
        return silence - max(0.0, herd_s) >= self._allowed(history)

    def closed_due_in_s(self, now: float, behind_s: float = 0.0) -> float | None:
        """Seconds until the first node whose session stream closed becomes overdue, as
        judged now (the herd's lateness of the last judgement, `behind_s` as given), 0
        if one is already; None when no stream is closed. So the replica can judge those
        nodes at that moment rather than at its next tick. Pure."""
        t = self._t(now) - max(0.0, behind_s)
        soonest: float | None = None
        for history in self.nodes.values():
            if history.connected:
                continue
            allowed = min(self.settings.grace_max_s,
                          self._allowed(history) + max(0.0, self.herd_s))
            due = history.last + allowed - t
            soonest = due if soonest is None else min(soonest, due)
        return None if soonest is None else max(0.0, soonest)

    def overdue_closed(self, now: float, behind_s: float = 0.0) -> list[str]:
        """The nodes whose session stream closed and that are overdue now, judged
        against the herd's lateness of the last judgement (`overdue` measures it), in
        name order. Pure."""
        return sorted(name for name, history in self.nodes.items() if not history.connected
                      and self.is_overdue(name, now, behind_s, self.herd_s))

    def overdue(self, now: float, behind_s: float = 0.0) -> list[str]:
        """The nodes whose silence is past what their history allows, in name order.

        `behind_s`: how far behind the server is in reading calls right now (a call to
        itself takes that long, controlplane/selfprobe.py). Heartbeats sent in that
        time may be waiting to be read, so that much of every silence is excused, and
        so is the herd's lateness (`herd_lag_s`, kept as `herd_s`). Never before the
        grace; always at the longest grace."""
        self.herd_s = self.herd_lag_s(now, behind_s)
        return sorted(name for name in self.nodes
                      if self.is_overdue(name, now, behind_s, self.herd_s))


def stall_s(expected_s: float, actual_s: float, *, tolerance_s: float) -> float:
    """How much of a late tick to excuse: the lateness beyond `tolerance_s`, if any.
    A timer that should have fired every `expected_s` fired `actual_s` after the last
    one; the difference is time the event loop spent elsewhere. Pure."""
    late = actual_s - expected_s
    return late - tolerance_s if late > tolerance_s else 0.0
