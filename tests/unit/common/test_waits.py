"""`wait_set`: an event's wait that gives up after a while (common/waits.py)."""

from __future__ import annotations

import asyncio

from dockyard.common.waits import wait_set


def test_a_set_event_returns_at_once_and_an_unset_one_after_the_time() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        start = loop.time()
        assert await wait_set(event, 0.05) is False
        assert loop.time() - start >= 0.04
        event.set()
        start = loop.time()
        assert await wait_set(event, 10) is True
        assert loop.time() - start < 1

    asyncio.run(scenario())


def test_an_event_set_during_the_wait_ends_it_early_and_cancelling_still_cancels() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        loop.call_later(0.02, event.set)
        start = loop.time()
        assert await wait_set(event, 10) is True
        assert loop.time() - start < 1

        waiter = asyncio.create_task(wait_set(asyncio.Event(), 10))
        await asyncio.sleep(0)
        waiter.cancel()
        out = await asyncio.gather(waiter, return_exceptions=True)
        assert isinstance(out[0], asyncio.CancelledError)  # not taken for a timeout

    asyncio.run(scenario())
