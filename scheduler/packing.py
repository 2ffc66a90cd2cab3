"""Bin-centric vector packing: fill one node at a time with the replicas that suit it.

Why this module exists: per-task best fit (even Nomad's BestFit v3) packs a batch
poorly when replicas arrive grouped by service, because the best node for a replica is
the one its siblings just used: a node fills with one shape, cpu-heavy replicas strand
memory and memory-heavy ones strand cpu.  The benchmark showed 12-15% more nodes than
the lower bound that way.  Packing the whole batch bin-centrically, choosing for each
node the group whose demand best matches what the node has left (the "dot product"
heuristic of Panigrahy et al., "Heuristics for Vector Bin Packing", 2011), mixes
complementary shapes on a node and closes the gap to the lower bound.

How a node is filled: resources are measured against their scarcity in the batch
(remaining demand / remaining free capacity), and a node counts as balanced when it has
used cpu and memory in those proportions.  Among the groups that fit, those that keep
the node balanced win; among them, the one best aligned with what the node has left
(the largest, in practice) goes first.  Constrained groups get priority on the nodes
they accept, since the others can go anywhere.

Cost: one vectorised pass over the remaining groups per decision, and a decision places
several replicas at once, as many as keep the node's cpu/memory balance from getting
worse.  Only groups whose filters are per-node facts (constraints, ports,
max_per_node) come here; spreading and label preferences stay with the item-centric
cursors in ``placement.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from dockyard.scheduler.cluster import BoolArray, ClusterState, Shape
from dockyard.scheduler.scoring import BINPACK_MAX, FloatArray, binpack_scores

BALANCE_SLACK = 0.05
"""How far (in fractions of a node) one decision may push cpu and memory apart."""

BALANCED_BONUS = 100.0
"""Added to the score of groups that keep the node balanced, so they win over larger
groups that would skew it; constrained groups get a smaller bonus on top."""


def balanced_count(
    *, free_cpu: float, free_mem: float, need_cpu: float, need_mem: float, room: int
) -> int:
    """How many replicas to book in one decision, between 1 and ``room``.

    All four figures are fractions of the node's capacity.  Replicas that pull the
    node's free cpu and free memory together may be booked until they pass each other
    by ``BALANCE_SLACK``; replicas that pull them apart stop at ``BALANCE_SLACK`` of
    extra imbalance.  A pure function.
    """
    gap = free_cpu - free_mem
    step = need_cpu - need_mem
    if room <= 1 or step == 0.0:
        return max(room, 0)
    if gap * step > 0:
        count = (abs(gap) + BALANCE_SLACK) / abs(step)
    else:
        count = (max(abs(gap), BALANCE_SLACK) - abs(gap)) / abs(step)
    return max(1, min(room, math.floor(count)))


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


def _allowed(cap: int, total: int, full: float) -> int:
    """Replicas of a group one node may hold: ``cap``, or more on a node that is full
    enough (``full`` from ``node_fullness``) for ``total`` replicas.  Pure."""
    return max(cap, math.floor(full * total))


def _note(
    here: dict[int, int],
    need_full: FloatArray,
    penalty: FloatArray,
    group: int,
    added: int,
    caps: Sequence[int],
    totals: Sequence[int],
) -> None:
    """Count ``added`` replicas of ``group`` on the node being filled and update what
    anti-affinity asks of the node before the next one: one more replica is allowed
    below ``caps[group]``, then only once the node's fullness reaches
    ``(replicas here + 1) / replicas``; and Nomad's penalty, ``replicas here /
    replicas``, ranks groups with fewer replicas on the node first."""
    number = here.get(group, 0) + added
    here[group] = number
    total = max(totals[group], 1)
    need_full[group] = 0.0 if number < caps[group] else (number + 1) / total
    penalty[group] = number / total


def _scarcity(
    *, demand_cpu: float, demand_mem: float, free_cpu: float, free_mem: float
) -> tuple[float, float]:
    cpu = demand_cpu / free_cpu if free_cpu > 0 else 1.0
    mem = demand_mem / free_mem if free_mem > 0 else 1.0
    top = max(cpu, mem, 1e-9)
    return max(cpu / top, 0.05), max(mem / top, 0.05)


def pack(
    *,
    state: ClusterState,
    shapes: Sequence[Shape],
    members: Sequence[list[int]],
    caps: Sequence[int] | None = None,
    totals: Sequence[int] | None = None,
) -> Iterator[tuple[int, int]]:
    """Yield (task index, node index) for the replicas of ``shapes`` that find a node.

    ``shapes`` should come largest first: among equally aligned groups the earlier one
    wins.  Replicas of a group are booked in member order; those left over are the
    group's tail in ``members``.

    ``caps`` and ``totals``, when given, keep replicas of a service apart (binpack's
    anti-affinity, as Nomad scores it): a node takes up to ``caps[g]`` replicas of group
    ``g``'s service, and more only while the node's fullness (its BestFit score, 0 to 1)
    is above ``(replicas already there + 1) / totals[g]``, Nomad's penalty for
    co-locating replicas of one job.  Small services therefore go one replica per node,
    and a service with many replicas still fills a node that is already well used.
    """
    count = len(shapes)
    if count == 0 or state.size == 0:
        return
    need_cpu = np.array([s.demand.cpu_millis for s in shapes], dtype=np.float64)
    need_mem = np.array([s.demand.memory_bytes for s in shapes], dtype=np.float64)
    left = np.array([len(m) for m in members], dtype=np.int64)
    taken = [0] * count
    remaining = int(left.sum())
    # Anti-affinity: replicas of each group on the node being filled, seeded from the
    # replicas already running (a sparse list per node: most nodes have none).
    apart = caps is not None and totals is not None
    cap_of = list(caps) if caps is not None else [0] * count
    total_of = list(totals) if totals is not None else [0] * count
    need_full = np.zeros(count, dtype=np.float64)
    penalty = np.zeros(count, dtype=np.float64)
    running: dict[int, list[tuple[int, int]]] = {}
    if apart:
        for group, shape in enumerate(shapes):
            existing = state.service_counts(shape.service)
            for where in np.flatnonzero(existing).tolist():
                running.setdefault(where, []).append((group, int(existing[where])))
    # Constrained groups (constraints, a volume's node, a platform) go first on the nodes they
    # accept: the others can go anywhere.
    pinned = [bool(s.constraints or s.volumes or s.platform) for s in shapes]
    bonus = np.array([10.0 if p else 0.0 for p in pinned], dtype=np.float64)
    static: BoolArray | None = None
    if any(pinned):
        static = np.stack(
            [
                state.static_mask(s) if p else np.ones(state.size, dtype=np.bool_)
                for s, p in zip(shapes, pinned, strict=True)
            ]
        )
    usable = np.flatnonzero(state.usable)
    # Fullest nodes first (best fit), then the seeded rank among equals.
    fullness = binpack_scores(
        free_cpu=state.free_cpu[usable],
        free_mem=state.free_mem[usable],
        cap_cpu=state.cap_cpu[usable],
        cap_mem=state.cap_mem[usable],
        demand=shapes[0].demand * 0,
    )
    order = usable[np.lexsort((state.rank[usable], -fullness))].tolist()
    usable_mask = state.usable
    for node in order:
        if remaining == 0:
            return
        # Measure each resource against how scarce it is in this batch: a node is
        # balanced when it uses cpu and memory in the proportions the remaining
        # replicas need them across the cluster, so no node strands what others lack.
        scarce_cpu, scarce_mem = _scarcity(
            demand_cpu=float(np.dot(left, need_cpu)),
            demand_mem=float(np.dot(left, need_mem)),
            free_cpu=float(state.free_cpu[usable_mask].clip(min=0).sum()),
            free_mem=float(state.free_mem[usable_mask].clip(min=0).sum()),
        )
        total_cpu = float(state.cap_cpu[node]) or 1.0
        total_mem = float(state.cap_mem[node]) or 1.0
        unit_cpu = total_cpu * scarce_cpu
        unit_mem = total_mem * scarce_mem
        size_cpu = need_cpu / unit_cpu
        size_mem = need_mem / unit_mem
        step = size_cpu - size_mem
        open_mask = left > 0
        if static is not None:
            open_mask &= static[:, node]
        # Replicas of each group on this node (sparse: a node holds few groups), and
        # for those, the fullness the node needs before it may take one more
        # (``need_full``) and the score penalty for co-locating (``penalty``).  Both
        # arrays are zero outside ``here`` and are reset when the node is done.
        here: dict[int, int] = {}
        for group, number in running.get(node, ()):
            _note(here, need_full, penalty, group, number, cap_of, total_of)

        # Each round books at least one replica or closes at least one group on this
        # node, so groups + replicas bound the rounds.
        for _ in range(count + remaining):
            free_cpu = int(state.free_cpu[node])
            free_mem = int(state.free_mem[node])
            fits = open_mask & (need_cpu <= free_cpu) & (need_mem <= free_mem)
            full = 0.0
            if here:
                full = node_fullness(free_cpu / total_cpu, free_mem / total_mem)
                fits &= need_full <= full
            if not fits.any():
                break
            # gap > 0: the node has used relatively more memory than cpu.
            gap = (total_mem - free_mem) / unit_mem - (total_cpu - free_cpu) / unit_cpu
            keeps_balance = np.abs(gap - step) <= max(abs(gap), BALANCE_SLACK)
            alignment = size_cpu * (free_cpu / unit_cpu) + size_mem * (free_mem / unit_mem)
            score = alignment + bonus + keeps_balance * BALANCED_BONUS
            if here:
                score -= penalty
            group = int(np.argmax(np.where(fits, score, -np.inf)))
            shape = shapes[group]
            limit = int(left[group])
            if apart:
                there = here.get(group, 0)
                limit = min(limit, _allowed(cap_of[group], total_of[group], full) - there)
            room = state.room(node=node, shape=shape, limit=limit)
            if room == 0:
                open_mask[group] = False
                continue
            booked = balanced_count(
                free_cpu=gap,
                free_mem=0.0,
                need_cpu=float(step[group]),
                need_mem=0.0,
                room=room,
            )
            state.book(node=node, shape=shape, count=booked)
            if apart:
                _note(here, need_full, penalty, group, booked, cap_of, total_of)
            start = taken[group]
            for member in members[group][start : start + booked]:
                yield member, node
            taken[group] = start + booked
            left[group] -= booked
            remaining -= booked
            if left[group] == 0:
                open_mask[group] = False
        touched = list(here)
        need_full[touched] = 0.0
        penalty[touched] = 0.0
