"""Scorers and orders, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from dockyard.scheduler import Resources
from dockyard.scheduler.packing import BALANCE_SLACK, balanced_count
from dockyard.scheduler.scoring import (
    binpack_order,
    binpack_scores,
    first_fit_order,
    least_allocated_score,
    least_allocated_scores,
)

CAP = np.array([100, 100, 100], dtype=np.int64)


def _arr(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("free", "demand", "expected"),
    [
        ((100, 100), (0, 0), 0.0),  # empty node: 20 - (10 + 10)
        ((0, 0), (0, 0), 18.0),  # full node: 20 - (1 + 1)
        ((100, 100), (50, 50), 20 - 2 * 10**0.5),
        ((60, 20), (10, 10), 20 - (10**0.5 + 10**0.1)),
    ],
)
def test_binpack_score_values(
    free: tuple[int, int], demand: tuple[int, int], expected: float
) -> None:
    score = binpack_scores(
        free_cpu=_arr(free[0]),
        free_mem=_arr(free[1]),
        cap_cpu=_arr(100),
        cap_mem=_arr(100),
        demand=Resources(cpu_millis=demand[0], memory_bytes=demand[1]),
    )
    assert score[0] == pytest.approx(expected)


def test_binpack_prefers_fuller_and_balanced_nodes() -> None:
    # node 0 empty, node 1 half full, node 2 equally full but lopsided
    scores = binpack_scores(
        free_cpu=_arr(100, 50, 90),
        free_mem=_arr(100, 50, 10),
        cap_cpu=CAP,
        cap_mem=CAP,
        demand=Resources(cpu_millis=5, memory_bytes=5),
    )
    assert scores[1] > scores[2] > scores[0]


def test_binpack_score_zero_capacity_does_not_divide_by_zero() -> None:
    scores = binpack_scores(
        free_cpu=_arr(0),
        free_mem=_arr(10),
        cap_cpu=_arr(0),
        cap_mem=_arr(10),
        demand=Resources(cpu_millis=0, memory_bytes=0),
    )
    assert np.isfinite(scores).all()


@pytest.mark.parametrize(
    ("free", "demand", "expected"),
    [
        ((100, 100), (0, 0), 1.0),
        ((100, 100), (50, 50), 0.5),
        ((40, 80), (20, 20), 0.4),
        ((10, 10), (0, 0), 0.1),
    ],
)
def test_least_allocated(free: tuple[int, int], demand: tuple[int, int], expected: float) -> None:
    need = Resources(cpu_millis=demand[0], memory_bytes=demand[1])
    vector = least_allocated_scores(
        free_cpu=_arr(free[0]),
        free_mem=_arr(free[1]),
        cap_cpu=_arr(100),
        cap_mem=_arr(100),
        demand=need,
    )
    single = least_allocated_score(
        free_cpu=free[0], free_mem=free[1], cap_cpu=100, cap_mem=100, demand=need
    )
    assert vector[0] == pytest.approx(expected)
    assert single == pytest.approx(expected)


def test_orders() -> None:
    candidates = _arr(4, 1, 3)
    rank = _arr(0, 4, 1, 3, 2)
    scores = np.array([1.0, 5.0, 1.0])
    # score 5 first; the two score-1 nodes by rank: node 4 (rank 2) before node 3 (rank 3)
    assert binpack_order(candidates=candidates, scores=scores, rank=rank).tolist() == [1, 4, 3]
    assert first_fit_order(candidates=candidates).tolist() == [1, 3, 4]


@pytest.mark.parametrize(
    ("free", "need", "room", "expected"),
    [
        ((1.0, 1.0), (0.1, 0.1), 7, 7),  # balanced demand never skews the node
        ((1.0, 1.0), (0.1, 0.0), 9, 1),  # lopsided demand on a balanced node: a little at a time
        ((1.0, 0.5), (0.1, 0.0), 20, 5),  # cpu-rich node, cpu-heavy demand: up to the balance
        ((0.5, 1.0), (0.1, 0.0), 20, 1),  # memory-rich node, cpu-heavy demand: one
        ((1.0, 1.0), (0.5, 0.1), 0, 0),
        ((1.0, 1.0), (0.5, 0.1), 1, 1),
    ],
)
def test_balanced_count(
    free: tuple[float, float], need: tuple[float, float], room: int, expected: int
) -> None:
    got = balanced_count(
        free_cpu=free[0], free_mem=free[1], need_cpu=need[0], need_mem=need[1], room=room
    )
    assert got == expected
    assert BALANCE_SLACK < 0.5
