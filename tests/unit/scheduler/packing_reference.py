"""A plain restatement of ``packing.pack`` for the property tests: every decision scores
every group in a Python loop, and the pool of free capacity is summed again for every
node.  Slow and simple on purpose: the fast path (``NodeFill``'s shrinking candidate
arrays, the running pool) must make exactly the decisions this one makes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from dockyard.scheduler.cluster import ClusterState, Shape
from dockyard.scheduler.nodefill import BALANCE_SLACK, BALANCED_BONUS, node_fullness
from dockyard.scheduler.packing import (
    _allowed,
    _anti_affinity,
    _scarcity,
    balanced_count,
    fill_order,
)


def _pool(state: ClusterState) -> tuple[float, float]:
    usable = [i for i in range(state.size) if state.usable[i]]
    cpu = sum(max(int(state.free_cpu[i]), 0) for i in usable)
    mem = sum(max(int(state.free_mem[i]), 0) for i in usable)
    return float(cpu), float(mem)


def reference_pack(
    *,
    state: ClusterState,
    shapes: Sequence[Shape],
    members: Sequence[list[int]],
    caps: Sequence[int] | None = None,
    totals: Sequence[int] | None = None,
) -> Iterator[tuple[int, int]]:
    """What ``pack`` yields, one full scan of the groups per decision."""
    count = len(shapes)
    if count == 0 or state.size == 0:
        return
    cpu_of = [float(s.demand.cpu_millis) for s in shapes]
    mem_of = [float(s.demand.memory_bytes) for s in shapes]
    left = [len(m) for m in members]
    taken = [0] * count
    apart = caps is not None and totals is not None
    pinned = [bool(s.constraints or s.volumes or s.platform) for s in shapes]
    accepts = [state.static_mask(s) if p else None for s, p in zip(shapes, pinned, strict=True)]
    for node in fill_order(state):
        if sum(left) == 0:
            return
        free_cpu_pool, free_mem_pool = _pool(state)
        scarce_cpu, scarce_mem = _scarcity(
            demand_cpu=float(np.dot(np.array(left, dtype=np.int64), np.array(cpu_of))),
            demand_mem=float(np.dot(np.array(left, dtype=np.int64), np.array(mem_of))),
            free_cpu=free_cpu_pool,
            free_mem=free_mem_pool,
        )
        total_cpu = float(state.cap_cpu[node]) or 1.0
        total_mem = float(state.cap_mem[node]) or 1.0
        unit_cpu, unit_mem = total_cpu * scarce_cpu, total_mem * scarce_mem
        here: dict[int, int] = {}
        if apart:
            for group, shape in enumerate(shapes):
                number = int(state.service_counts(shape.service)[node])
                if number:
                    here[group] = number
        closed: set[int] = set()
        while True:
            free_cpu, free_mem = int(state.free_cpu[node]), int(state.free_mem[node])
            full = node_fullness(free_cpu / total_cpu, free_mem / total_mem) if here else 0.0
            gap = (total_mem - free_mem) / unit_mem - (total_cpu - free_cpu) / unit_cpu
            best, best_score, best_step = -1, -np.inf, 0.0
            for group in range(count):
                mask = accepts[group]
                if left[group] == 0 or group in closed or (mask is not None and not mask[node]):
                    continue
                if cpu_of[group] > free_cpu or mem_of[group] > free_mem:
                    continue
                need_full, penalty = 0.0, 0.0
                if group in here:
                    assert caps is not None and totals is not None
                    need_full, penalty = _anti_affinity(here[group], caps[group], totals[group])
                if not need_full <= full:
                    continue
                size_cpu, size_mem = cpu_of[group] / unit_cpu, mem_of[group] / unit_mem
                step = size_cpu - size_mem
                score = size_cpu * (free_cpu / unit_cpu) + size_mem * (free_mem / unit_mem)
                score += 10.0 if pinned[group] else 0.0
                balanced = abs(gap - step) <= max(abs(gap), BALANCE_SLACK)
                score += BALANCED_BONUS if balanced else 0.0
                score -= penalty
                if score > best_score:
                    best, best_score, best_step = group, score, step
            if best < 0:
                break
            limit = left[best]
            if apart:
                assert caps is not None and totals is not None
                allowed = _allowed(caps[best], totals[best], full)
                limit = min(limit, allowed - here.get(best, 0))
            room = state.room(node=node, shape=shapes[best], limit=limit)
            if room == 0:
                closed.add(best)
                continue
            booked = balanced_count(
                free_cpu=gap, free_mem=0.0, need_cpu=best_step, need_mem=0.0, room=room
            )
            state.book(node=node, shape=shapes[best], count=booked)
            if apart:
                here[best] = here.get(best, 0) + booked
            for member in members[best][taken[best] : taken[best] + booked]:
                yield member, node
            taken[best] += booked
            left[best] -= booked
