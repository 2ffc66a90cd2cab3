"""The replica's call to itself (controlplane/selfprobe.py): how far behind it says the
replica is, while a call waits and after it is answered, and where it dials."""

from __future__ import annotations

import asyncio

from dockyard.controlplane.selfprobe import SelfProbe, own_address


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_waiting_call_counts_for_as_long_as_it_has_waited_and_an_answer_for_its_delay(
) -> None:
    async def scenario() -> list[float]:
        clock = Clock()
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def call(timeout_s: float) -> object:
            await answer
            return None

        probe = SelfProbe(call, every_s=3600, clock=clock)
        task = asyncio.create_task(probe.run())
        seen = [probe.behind_s()]
        await asyncio.sleep(0)  # the call is sent
        clock.now += 2.5
        seen.append(probe.behind_s())  # still waiting: 2.5 s behind
        clock.now += 1.0
        answer.set_result(None)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(probe.behind_s())  # answered after 3.5 s
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen

    assert asyncio.run(scenario()) == [0.0, 2.5, 3.5]


def test_a_failed_call_counts_for_the_time_it_took() -> None:
    async def scenario() -> float:
        clock = Clock()

        async def call(timeout_s: float) -> object:
            clock.now += timeout_s
            raise TimeoutError("deadline")

        probe = SelfProbe(call, every_s=3600, timeout_s=30, clock=clock)
        task = asyncio.create_task(probe.run())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        behind = probe.behind_s()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return behind

    assert asyncio.run(scenario()) == 30.0


def test_a_wildcard_listen_address_is_dialled_on_loopback() -> None:
    assert own_address("0.0.0.0:7070") == "127.0.0.1:7070"
    assert own_address(":7070") == "127.0.0.1:7070"
    assert own_address("[::]:7070") == "[::1]:7070"
    assert own_address("10.0.0.5:7070") == "10.0.0.5:7070"
