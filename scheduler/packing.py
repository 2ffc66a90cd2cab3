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
from dockyard.scheduler.model import Resources
from dockyard.scheduler.nodefill import BALANCE_SLACK, NodeFill
from dockyard.scheduler.scoring import binpack_scores


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


def _allowed(cap: int, total: int, full: float) -> int:
    """Replicas of a group one node may hold: ``cap``, or more on a node that is full
    enough (``full`` from ``node_fullness``) for ``total`` replicas.  Pure."""
    return max(cap, math.floor(full * total))


def _anti_affinity(number: int, cap: int, total: int) -> tuple[float, float]:
    """What anti-affinity asks of a node holding ``number`` replicas of a group: the
    fullness it needs before it may take one more (0 below ``cap``, then ``(number + 1)
    / total``) and Nomad's penalty, ``number / total``, that ranks groups with fewer
    replicas on the node first.  Pure."""
    total = max(total, 1)
    return (0.0 if number < cap else (number + 1) / total), number / total


class _Pool:
    """Free cpu and memory of the usable nodes, none counted below zero, kept as this
    call books (one subtraction per booking instead of a sum over every node per node)."""

    def __init__(self, *, cpu: int, mem: int) -> None:
        self.cpu = cpu
        self.mem = mem

    def book(
        self, *, state: ClusterState, node: int, shape: Shape, count: int, fill: NodeFill
    ) -> None:
        """Book ``count`` replicas of ``shape`` on ``node`` (a usable node, the one
        ``fill`` is filling) and count what the pool lost."""
        state.book(node=node, shape=shape, count=count)
        demand = shape.demand
        cpu_after = fill.free_cpu - demand.cpu_millis * count
        mem_after = fill.free_mem - demand.memory_bytes * count
        self.cpu -= max(fill.free_cpu, 0) - max(cpu_after, 0)
        self.mem -= max(fill.free_mem, 0) - max(mem_after, 0)


def _scarcity(
    *, demand_cpu: float, demand_mem: float, free_cpu: float, free_mem: float
) -> tuple[float, float]:
    cpu = demand_cpu / free_cpu if free_cpu > 0 else 1.0
    mem = demand_mem / free_mem if free_mem > 0 else 1.0
    top = max(cpu, mem, 1e-9)
    return max(cpu / top, 0.05), max(mem / top, 0.05)


def fill_order(state: ClusterState) -> list[int]:
    """The usable nodes in the order ``pack`` fills them: fullest first (best fit), then
    the seeded rank among equals.  Pure."""
    usable = np.flatnonzero(state.usable)
    fullness = binpack_scores(
        free_cpu=state.free_cpu[usable],
        free_mem=state.free_mem[usable],
        cap_cpu=state.cap_cpu[usable],
        cap_mem=state.cap_mem[usable],
        demand=Resources(cpu_millis=0, memory_bytes=0),
    )
    order: list[int] = usable[np.lexsort((state.rank[usable], -fullness))].tolist()
    return order


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
    left_of = [len(m) for m in members]
    left = np.array(left_of, dtype=np.int64)
    taken = [0] * count
    remaining = int(left.sum())
    # Anti-affinity: replicas of each group on the node being filled, seeded from the
    # replicas already running (a sparse list per node: most nodes have none).
    apart = caps is not None and totals is not None
    cap_of = list(caps) if caps is not None else [0] * count
    total_of = list(totals) if totals is not None else [0] * count
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
    order = fill_order(state)
    usable = np.flatnonzero(state.usable)
    # Free capacity of the usable nodes (none below zero), kept up to date as this call
    # books, instead of summed over every node for every node filled.
    pool = _Pool(
        cpu=int(state.free_cpu[usable].clip(min=0).sum()),
        mem=int(state.free_mem[usable].clip(min=0).sum()),
    )
    for node in order:
        if remaining == 0:
            return
        # Measure each resource against how scarce it is in this batch: a node is
        # balanced when it uses cpu and memory in the proportions the remaining
        # replicas need them across the cluster, so no node strands what others lack.
        scarce_cpu, scarce_mem = _scarcity(
            demand_cpu=float(np.dot(left, need_cpu)),
            demand_mem=float(np.dot(left, need_mem)),
            free_cpu=float(pool.cpu),
            free_mem=float(pool.mem),
        )
        open_mask = left > 0
        if static is not None:
            open_mask &= static[:, node]
        fill = NodeFill(
            node=node,
            state=state,
            groups=open_mask,
            need_cpu=need_cpu,
            need_mem=need_mem,
            bonus=bonus if static is not None else None,
            scarce=(scarce_cpu, scarce_mem),
        )
        # Replicas of each group on this node (sparse: a node holds few groups).
        here: dict[int, int] = {}
        for group, number in running.get(node, ()):
            here[group] = number
            fill.note(group, *_anti_affinity(number, cap_of[group], total_of[group]), chosen=False)

        # Each round books at least one replica or closes at least one group on this
        # node, so groups + replicas bound the rounds.
        for _ in range(count + remaining):
            chosen = fill.choose()
            if chosen is None:
                break
            group, full = chosen
            shape = shapes[group]
            limit = left_of[group]
            if apart:
                there = here.get(group, 0)
                limit = min(limit, _allowed(cap_of[group], total_of[group], full) - there)
            room = state.room(node=node, shape=shape, limit=limit)
            if room == 0:
                fill.close_last()
                continue
            booked = balanced_count(
                free_cpu=fill.gap, free_mem=0.0, need_cpu=fill.step, need_mem=0.0, room=room
            )
            pool.book(state=state, node=node, shape=shape, count=booked, fill=fill)
            if apart:
                number = here.get(group, 0) + booked
                here[group] = number
                fill.note(
                    group, *_anti_affinity(number, cap_of[group], total_of[group]), chosen=True
                )
            start = taken[group]
            for member in members[group][start : start + booked]:
                yield member, node
            taken[group] = start + booked
            left_of[group] -= booked
            left[group] = left_of[group]
            remaining -= booked
            if left_of[group] == 0:
                fill.close_last()
