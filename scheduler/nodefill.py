"""``NodeFill``: the groups one node may still take, and which of them it takes next.

Why this module exists: ``packing.pack`` fills a node with a series of decisions, each
scoring every group that still fits.  Scoring all the batch's groups for every decision
(a thousand and more at 100,000 tasks) made the vector arithmetic the whole cost of a
placement, though most groups are already placed or no longer fit the node being filled.
A node's free capacity only shrinks while it is filled, so a group that does not fit
it once never fits it again in that fill: ``NodeFill`` keeps the candidates in compact
arrays and drops them as they close, so each decision scores only those still open.

The scores are computed element by element with the same operations as before, and the
winner is the first of the highest (candidates stay in group order), so a decision is the
one a full scan of all groups would make.  Pure: it reads the cluster state and changes
nothing but itself.
"""

from __future__ import annotations

import numpy as np

from dockyard.scheduler.cluster import BoolArray, ClusterState
from dockyard.scheduler.scoring import BINPACK_MAX, FloatArray

BALANCE_SLACK = 0.05
"""How far (in fractions of a node) one decision may push cpu and memory apart."""

BALANCED_BONUS = 100.0
"""Added to the score of groups that keep the node balanced, so they win over larger
groups that would skew it; constrained groups get a smaller bonus on top."""


def node_fullness(free_cpu: float, free_mem: float) -> float:
    """A node's BestFit v3 score from its free fractions, scaled to 0 (empty) .. 1 (full).

    Pure.  Anti-affinity lets a service put one more replica on a node while this is
    above ``(replicas there + 1) / replicas of the service``: Nomad's penalty for
    co-locating a job's allocations, weighed against the node's binpack score.
    """
    cpu = min(max(free_cpu, 0.0), 1.0)
    mem = min(max(free_mem, 0.0), 1.0)
    score = 20.0 - (10.0**cpu + 10.0**mem)
    return float(min(max(score, 0.0), BINPACK_MAX) / BINPACK_MAX)


class NodeFill:
    """The open groups that fit one node, scored for the node's next decision.

    ``groups`` marks the groups with replicas left that the node accepts; ``scarce`` is
    the batch's (cpu, memory) scarcity, which sets the node's units of measure.  A
    closed group's cpu demand is read as infinite, so it never fits again; the few
    groups with anti-affinity figures on this node are kept apart, by group.
    """

    def __init__(
        self,
        *,
        node: int,
        state: ClusterState,
        groups: BoolArray,
        need_cpu: FloatArray,
        need_mem: FloatArray,
        bonus: FloatArray | None,
        scarce: tuple[float, float],
    ) -> None:
        self._node = node
        self._state = state
        self._total_cpu = float(state.cap_cpu[node]) or 1.0
        self._total_mem = float(state.cap_mem[node]) or 1.0
        self._unit_cpu = self._total_cpu * scarce[0]
        self._unit_mem = self._total_mem * scarce[1]
        self.free_cpu = int(state.free_cpu[node])
        self.free_mem = int(state.free_mem[node])
        ids = np.flatnonzero(groups & (need_cpu <= self.free_cpu) & (need_mem <= self.free_mem))
        cpu = need_cpu[ids]
        mem = need_mem[ids]
        size_cpu = cpu / self._unit_cpu
        size_mem = mem / self._unit_mem
        rows = [ids.astype(np.float64), cpu, mem, size_cpu, size_mem, size_cpu - size_mem]
        if bonus is not None:
            rows.append(bonus[ids])
        # One table, one row per figure, so dropping candidates is one indexing call.
        self._table: FloatArray = np.stack(rows)
        self._rows()
        # group -> (fullness needed for one more replica, score penalty), and where
        # each of those groups sits in the arrays (-1: not a candidate).
        self._apart: dict[int, tuple[float, float]] = {}
        self._where: dict[int, int] = {}
        self.gap = 0.0
        """Cpu minus memory the node has used, in the batch's units, at the last choice."""
        self.step = 0.0
        """How far one replica of the last chosen group moves that balance."""
        self._last = -1

    def _position(self, group: int) -> int:
        position = int(self._ids.searchsorted(group))
        if position < self._ids.size and int(self._ids[position]) == group:
            return position
        return -1

    def note(self, group: int, need_full: float, penalty: float, *, chosen: bool) -> None:
        """Anti-affinity for ``group`` on this node: the fullness the node needs before
        it takes one more replica, and the score penalty (``packing._anti_affinity``).
        ``chosen``: ``group`` is the one ``choose`` returned last."""
        if group not in self._where:
            self._where[group] = self._last if chosen else self._position(group)
        self._apart[group] = (need_full, penalty)

    def close_last(self) -> None:
        """The group chosen last takes no more replicas on this node (placed, or no room)."""
        self._cpu[self._last] = np.inf

    def _rows(self) -> None:
        table = self._table
        self._ids, self._cpu, self._mem = table[0], table[1], table[2]
        self._size_cpu, self._size_mem, self._step = table[3], table[4], table[5]
        self._bonus = table[6] if table.shape[0] > 6 else None

    def _keep(self, alive: BoolArray) -> None:
        self._table = self._table[:, alive]
        self._rows()
        if self._where:
            # A kept candidate's new place is the number of kept ones up to it.
            kept = np.cumsum(alive)
            self._where = {
                group: int(kept[at]) - 1 if at >= 0 and alive[at] else -1
                for group, at in self._where.items()
            }

    def choose(self) -> tuple[int, float] | None:
        """The group the node takes next and the node's fullness; None when none fits.

        Among the groups that fit (and that the node is full enough to take one more
        of), those that keep the node balanced win; among them, the one best aligned
        with what the node has left, less the anti-affinity penalty.
        """
        state = self._state
        free_cpu = self.free_cpu = int(state.free_cpu[self._node])
        free_mem = self.free_mem = int(state.free_mem[self._node])
        # Every candidate left fits the node (no mask to apply): those that stopped
        # fitting, or were closed, are dropped first.
        fits = self._cpu <= float(free_cpu)
        fits &= self._mem <= float(free_mem)
        alive = int(np.count_nonzero(fits))
        if alive == 0:
            return None
        if alive < self._ids.size:
            self._keep(fits)
        full = 0.0
        if self._apart:
            full = node_fullness(free_cpu / self._total_cpu, free_mem / self._total_mem)
        unit_cpu, unit_mem = self._unit_cpu, self._unit_mem
        # gap > 0: the node has used relatively more memory than cpu.
        gap = (self._total_mem - free_mem) / unit_mem - (self._total_cpu - free_cpu) / unit_cpu
        off = gap - self._step
        keeps_balance = np.abs(off, out=off) <= max(abs(gap), BALANCE_SLACK)
        score = self._size_cpu * (free_cpu / unit_cpu)
        score += self._size_mem * (free_mem / unit_mem)
        if self._bonus is not None:
            score += self._bonus
        # Adding 0.0 leaves a score as it was: the same sums as a masked addition.
        score += keeps_balance.view(np.uint8) * BALANCED_BONUS
        blocked = False
        for group, (need_full, penalty) in self._apart.items():
            position = self._where[group]
            if position >= 0:
                score[position] -= penalty
                if not need_full <= full:
                    score[position] = -np.inf
                    blocked = True
        position = int(score.argmax())
        if blocked and score[position] == -np.inf:
            return None
        self._last = position
        self.gap = gap
        self.step = float(self._step[position])
        return int(self._ids[position]), full
