"""A step of a process's stop, awaited with a bound: cut and named in the log if it
overruns.

A daemon's stop awaits things outside the process (etcd, a peer on a stream, a child
process, the container engine); any one of them can be slow or gone. The server
(controlplane/stopping.py) and the agent (agent/cli.py) await each step of their stop
through `bounded`, so a stop takes at most the sum of its steps' bounds and the log says
which step overran.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

# A step cancelled at its bound gets this long to finish cancelling before it is left.
CANCEL_WAIT_S = 0.25


def overran(step: str, bound_s: float, elapsed_s: float, *, finished: bool) -> str:
    """The log line for a step that did not finish within its bound. Pure."""
    how = "then finished when cancelled" if finished else "cancelled and left behind"
    return (f"stopping: step {step!r} overran its {bound_s:g}s bound by "
            f"{max(0.0, elapsed_s - bound_s):.1f}s ({how})")


async def bounded(step: str, work: Awaitable[Any], bound_s: float, *,
                  log: logging.Logger) -> bool:
    """Await `work` for at most `bound_s`. True when it finished in time; otherwise it is
    cancelled, the overrun is logged to `log` naming the step, and False. An exception
    from `work` is logged and counts as finished: a stop carries on whatever one step
    did. Never waits longer than the bound plus CANCEL_WAIT_S, even for work that
    ignores its cancellation."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=bound_s)
    if task in done:
        log.debug("stopping: step %r took %.2fs", step, loop.time() - start)
        if not task.cancelled() and task.exception() is not None:
            log.warning("stopping: step %r failed: %s", step, task.exception())
        return True
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
    log.warning(overran(step, bound_s, loop.time() - start, finished=bool(done)))
    if done and not task.cancelled():
        task.exception()  # retrieved: its failure after the bound is the overrun above
    return False
