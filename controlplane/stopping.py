"""The server's stop, step by step, each step with a bound of its own.

`dockyard server` stops on SIGTERM or SIGINT by resigning the leadership, draining gRPC,
closing the console, the loops and the etcd client, and stopping the embedded etcd. Each
of those awaits something outside the process (an etcd commit, a client still on a
stream, a child process), so any one of them could wait for as long as etcd or a peer
is slow, or forever if etcd is stopped (SIGSTOP, a frozen VM). Here every step gets a
bound (`STEPS`): a step that overruns is cancelled and named in the log with how long it
had taken, and the stop moves on to the next step, so the whole stop takes at most
`total_bound_s()` plus the embedded etcd's kill. A watchdog thread (`Watchdog`) backs
that with a hard limit that does not depend on the event loop at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("dockyard.server")

DRAIN_S = 2.0  # gRPC calls in flight get this long before they are cancelled
ETCD_TERM_S = 4.0  # the embedded etcd gets this long after SIGTERM before SIGKILL
# Each step of the stop and its bound in seconds, in the order they run. The sum is the
# longest a stop takes when every step overruns (docs/operations.md).
STEPS: dict[str, float] = {
    "resign": 2.0,           # stop leading, revoke the leader lease: one etcd call
    "health": 0.5,           # tell health checkers NOT_SERVING
    "grpc": DRAIN_S + 1.0,   # drain gRPC: DRAIN_S for calls in flight, then cancel them
    "console": 1.0,          # the console's event feed
    "loops": 2.0,            # cancel the mirror, election, liveness, ... loops
    "probe": 0.5,            # the self-probe's channel
    "etcd-client": 1.0,      # close the etcd client (its watch stream and channel)
    "etcd": ETCD_TERM_S + 2.0,  # the embedded etcd: SIGTERM, then SIGKILL
}
# The watchdog's margin over the steps' sum: the time to log, kill etcd and exit.
WATCHDOG_MARGIN_S = 3.0
# A step cancelled at its bound gets this long to finish cancelling before it is left.
CANCEL_WAIT_S = 0.25


def total_bound_s(steps: dict[str, float] | None = None) -> float:
    """The longest the stop's steps take together: the sum of their bounds. Pure."""
    return sum((STEPS if steps is None else steps).values())


def overran(step: str, bound_s: float, elapsed_s: float, *, finished: bool) -> str:
    """The log line for a step that did not finish within its bound. Pure."""
    how = "then finished when cancelled" if finished else "cancelled and left behind"
    return (f"stopping: step {step!r} overran its {bound_s:g}s bound by "
            f"{max(0.0, elapsed_s - bound_s):.1f}s ({how})")


async def bounded(step: str, work: Awaitable[Any], bound_s: float | None = None) -> bool:
    """Await `work` for at most its step's bound (`STEPS[step]` unless `bound_s`). True
    when it finished in time; otherwise it is cancelled, the overrun is logged naming the
    step, and False. An exception from `work` is logged and counts as finished: a stop
    carries on whatever one step did. Never waits longer than the bound plus
    CANCEL_WAIT_S, even for work that ignores its cancellation."""
    limit = STEPS[step] if bound_s is None else bound_s
    loop = asyncio.get_running_loop()
    start = loop.time()
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=limit)
    if task in done:
        log.debug("stopping: step %r took %.2fs", step, loop.time() - start)
        if not task.cancelled() and task.exception() is not None:
            log.warning("stopping: step %r failed: %s", step, task.exception())
        return True
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
    log.warning(overran(step, limit, loop.time() - start, finished=bool(done)))
    if done and not task.cancelled():
        task.exception()  # retrieved: its failure after the bound is the overrun above
    return False


class Watchdog:
    """The stop's hard limit, outside the event loop: once armed, if the process is still
    here after `limit_s`, `last_words` runs (kill the embedded etcd) and the process
    exits with code 1, whatever the event loop or the interpreter's exit is doing. Never
    disarmed: a process that stopped in time has exited before it fires."""

    def __init__(self, limit_s: float, last_words: Callable[[], None]) -> None:
        self._limit_s = limit_s
        self._last_words = last_words

    def arm(self) -> None:
        threading.Thread(target=self._watch, name="stop-watchdog", daemon=True).start()

    def _watch(self) -> None:
        time.sleep(self._limit_s)
        log.error("stopping: still not stopped after %gs; exiting now", self._limit_s)
        try:
            self._last_words()
        finally:
            logging.shutdown()
            os._exit(1)
