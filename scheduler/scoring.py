"""Scores that rank the nodes able to take a replica: bin-packing and spreading.

Why this module exists: the choice between dense packing and spreading is the product's
point (docs/promises.md: dense packing, chosen per app).  Scorers are pure,
vectorised functions of free capacity, named and selectable like Kubernetes'
NodeResourcesFit scorers, so each one has its own table-driven test and the placement
loop never needs to know the formula.

- ``binpack_scores``: Nomad's BestFit v3, ``20 - (10^free_cpu + 10^free_mem)`` on the
  fractions left free *after* the placement.  The exponential punishes a node that would
  strand a lot of one resource, so it prefers nodes where both dimensions end up full
  (multi-dimensional best fit, like Kubernetes' MostAllocated).
- ``least_allocated_scores``: Kubernetes' LeastAllocated, the mean free fraction after
  the placement; higher means emptier.
- ``binpack_order`` / ``first_fit_order``: the order in which the placement loop fills
  candidate nodes, best first, with the seeded rank breaking ties.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dockyard.scheduler.model import Resources

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BINPACK_MAX = 18.0


def _fraction(free: IntArray, capacity: IntArray) -> FloatArray:
    safe = np.where(capacity > 0, capacity, 1)
    return np.where(capacity > 0, free / safe, 0.0)


def free_fractions(
    *,
    free_cpu: IntArray,
    free_mem: IntArray,
    cap_cpu: IntArray,
    cap_mem: IntArray,
    demand: Resources,
) -> tuple[FloatArray, FloatArray]:
    """Fractions of cpu and memory left free if one more ``demand`` is placed."""
    return (
        _fraction(free_cpu - demand.cpu_millis, cap_cpu),
        _fraction(free_mem - demand.memory_bytes, cap_mem),
    )


def binpack_scores(
    *,
    free_cpu: IntArray,
    free_mem: IntArray,
    cap_cpu: IntArray,
    cap_mem: IntArray,
    demand: Resources,
) -> FloatArray:
    """Nomad BestFit v3: ``20 - (10^free_cpu_frac + 10^free_mem_frac)``, in [0, 18].

    A full node scores 18, an empty one 0.  A pure function.
    """
    cpu, mem = free_fractions(
        free_cpu=free_cpu, free_mem=free_mem, cap_cpu=cap_cpu, cap_mem=cap_mem, demand=demand
    )
    score: FloatArray = 20.0 - (np.power(10.0, cpu) + np.power(10.0, mem))
    return np.clip(score, 0.0, BINPACK_MAX)


def least_allocated_scores(
    *,
    free_cpu: IntArray,
    free_mem: IntArray,
    cap_cpu: IntArray,
    cap_mem: IntArray,
    demand: Resources,
) -> FloatArray:
    """Kubernetes LeastAllocated: mean free fraction after placement, in [0, 1]."""
    cpu, mem = free_fractions(
        free_cpu=free_cpu, free_mem=free_mem, cap_cpu=cap_cpu, cap_mem=cap_mem, demand=demand
    )
    score: FloatArray = (np.clip(cpu, 0.0, 1.0) + np.clip(mem, 0.0, 1.0)) / 2.0
    return score


def least_allocated_score(
    *, free_cpu: int, free_mem: int, cap_cpu: int, cap_mem: int, demand: Resources
) -> float:
    """``least_allocated_scores`` for one node, in plain Python (the hot loop of spread)."""
    cpu = (free_cpu - demand.cpu_millis) / cap_cpu if cap_cpu > 0 else 0.0
    mem = (free_mem - demand.memory_bytes) / cap_mem if cap_mem > 0 else 0.0
    return (min(max(cpu, 0.0), 1.0) + min(max(mem, 0.0), 1.0)) / 2.0


def binpack_order(*, candidates: IntArray, scores: FloatArray, rank: IntArray) -> IntArray:
    """``candidates`` sorted by descending score, ties by ascending ``rank``."""
    order = np.lexsort((rank[candidates], -scores))
    result: IntArray = candidates[order]
    return result


def first_fit_order(*, candidates: IntArray) -> IntArray:
    """``candidates`` in node-list order: first-fit takes the first node that fits."""
    return np.sort(candidates)
