"""The retry bookkeeping both status flushers share (agent/statusflush.py `Retries`):
a batch that was not written goes back, newest status per task kept; failures in a row
are counted and passed to the wait; a code that ends the session says so; a batch
written starts the count over; the next batch waits what the last failure said.
"""

from __future__ import annotations

import asyncio

import grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.agent.statusflush import FLUSH_S, Retries, StatusBatch
from dockyard.v1 import objects_pb2

PREPARING = objects_pb2.TaskStatus(state=objects_pb2.PREPARING)
RUNNING = objects_pb2.TaskStatus(state=objects_pb2.RUNNING)


class Waits:
    """A stand-in for `retry_s`: records what it was asked, answers `answer`."""

    def __init__(self, answer: float | None) -> None:
        self.answer = answer
        self.asked: list[tuple[grpc.StatusCode, int, float]] = []

    def __call__(self, code: grpc.StatusCode, failures: int, hint_s: float) -> float | None:
        self.asked.append((code, failures, hint_s))
        return self.answer


def test_a_failed_batch_goes_back_without_undoing_a_newer_status() -> None:
    batch = StatusBatch()
    retries = Retries(batch, Waits(1.5))
    sent = {"t1": PREPARING, "t2": PREPARING}
    batch.add("t1", RUNNING)  # came while the batch was out
    assert retries.failed(sent, grpc.StatusCode.UNAVAILABLE, 0.0, "down")
    assert batch.pending == {"t1": RUNNING, "t2": PREPARING}
    assert batch.ready.is_set()
    assert retries.wait == 1.5


@settings(deadline=None)
@given(n=st.integers(min_value=1, max_value=30), hint=st.floats(min_value=0.0, max_value=60.0))
def test_failures_in_a_row_are_counted_and_a_written_batch_starts_over(
        n: int, hint: float) -> None:
    waits = Waits(2.0)
    retries = Retries(StatusBatch(), waits)
    for _ in range(n):
        assert retries.failed({"t": RUNNING}, grpc.StatusCode.DEADLINE_EXCEEDED, hint, "")
    assert [f for _, f, _ in waits.asked] == list(range(1, n + 1))
    assert all(h == hint for _, _, h in waits.asked)
    assert retries.failures == n
    retries.sent()
    assert (retries.failures, retries.wait) == (0, FLUSH_S)


def test_a_code_that_ends_the_session_says_so_with_the_batch_kept() -> None:
    batch = StatusBatch()
    retries = Retries(batch, Waits(None))
    assert not retries.failed({"t": RUNNING}, grpc.StatusCode.NOT_FOUND, 0.0, "gone")
    assert batch.pending == {"t": RUNNING}  # a new session sends it


def test_a_wait_of_nothing_is_the_flush_interval() -> None:
    retries = Retries(StatusBatch(), Waits(0.0))
    assert retries.failed({"t": RUNNING}, grpc.StatusCode.UNAVAILABLE, 0.0, "")
    assert retries.wait == FLUSH_S


def test_the_next_batch_is_what_came_once_there_is_any() -> None:
    async def scenario() -> dict[str, objects_pb2.TaskStatus]:
        batch = StatusBatch()
        retries = Retries(batch, Waits(0.01))
        batch.add("t", PREPARING)
        batch.take()  # taken by someone else: ready is clear, nothing pending
        nxt = asyncio.create_task(retries.next_items())
        await asyncio.sleep(0)
        assert not nxt.done()
        batch.add("t", RUNNING)
        return await asyncio.wait_for(nxt, timeout=10)

    assert asyncio.run(scenario()) == {"t": RUNNING}
