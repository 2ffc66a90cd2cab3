"""A step of a process's stop, awaited with a bound: cut and named in the log if it
overruns.

A daemon's stop awaits things outside the process (etcd, a peer on a stream, a child
process, the container engine); any one of them can be slow or gone. The server
(controlplane/stopping.py) and the agent (agent/cli.py) await each step of their stop
through `bounded`, so a stop takes at most the sum of its steps' bounds and the log says
which step overran. A `Watchdog` thread, outside the event loop, ends the process if
the stop still has not after all that (asyncio's own teardown waits, unbounded, for
tasks left behind and for worker threads, e.g. a call into a hung container engine).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
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


class Watchdog:
    """A stop's hard limit, outside the event loop: once armed, if the process is still
    here after `limit_s`, `last_words` runs (the server kills its embedded etcd) and the
    process exits with code 1, whatever the event loop or the interpreter's exit is
    doing. Never disarmed: a process that stopped in time has exited before it fires."""

    def __init__(self, limit_s: float, log: logging.Logger,
                 last_words: Callable[[], None] = lambda: None) -> None:
        self._limit_s = limit_s
        self._log = log
        self._last_words = last_words

    def arm(self) -> None:
        threading.Thread(target=self._watch, name="stop-watchdog", daemon=True).start()

    def _watch(self) -> None:
        time.sleep(self._limit_s)
        self._log.error("stopping: still not stopped after %gs; exiting now", self._limit_s)
        try:
            self._last_words()
        finally:
            logging.shutdown()
            os._exit(1)
