"""Each step of the server's stop is bounded: a step that overruns is cut and named."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dockyard.common.bounded import CANCEL_WAIT_S, bounded, overran
from dockyard.controlplane.stopping import STEPS, total_bound_s

LOG = logging.getLogger("test-stop")


def test_the_total_bound_is_the_sum_of_the_steps_bounds_and_their_cancellations() -> None:
    assert total_bound_s({"a": 1.0, "b": 2.5}) == 3.5 + 2 * CANCEL_WAIT_S
    assert total_bound_s() == sum(STEPS.values()) + len(STEPS) * CANCEL_WAIT_S
    order = list(STEPS)
    assert order[0] == "resign" and order[-1] == "etcd"


def test_the_overrun_line_names_the_step_and_by_how_much() -> None:
    line = overran("resign", 2.0, 2.26, finished=True)
    assert "'resign'" in line and "2s bound by 0.3s" in line and "finished" in line
    assert "left behind" in overran("etcd", 6.0, 6.3, finished=False)


def test_a_step_in_time_is_true_and_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert asyncio.run(bounded("health", asyncio.sleep(0.01), 1.0, log=LOG)) is True
    assert "overran" not in caplog.text


def test_a_failing_step_counts_as_done_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise OSError("gone")

    assert asyncio.run(bounded("probe", fails(), 1.0, log=LOG)) is True
    assert "step 'probe' failed: gone" in caplog.text


def test_a_hanging_step_is_cut_at_its_bound_and_named(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        ok = await bounded("loops", asyncio.Event().wait(), 0.2, log=LOG)
        return ok, loop.time() - start

    ok, took = asyncio.run(run())
    assert ok is False and took < 0.2 + CANCEL_WAIT_S + 0.5
    assert "step 'loops' overran its 0.2s bound" in caplog.text
    assert "finished when cancelled" in caplog.text


def test_a_step_that_ignores_its_cancel_is_left_behind(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # ignores the cancel, as a careless finally would

    async def run() -> bool:
        try:
            return await bounded("etcd-client", stubborn(), 0.1, log=LOG)
        finally:
            release.set()

    assert asyncio.run(run()) is False
    assert "step 'etcd-client' overran" in caplog.text and "left behind" in caplog.text
