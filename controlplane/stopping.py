"""The server's stop, step by step, each step with a bound of its own.

`dockyard server` stops on SIGTERM or SIGINT by resigning the leadership, draining gRPC,
closing the console, the loops and the etcd client, and stopping the embedded etcd. Each
of those awaits something outside the process (an etcd commit, a client still on a
stream, a child process), so any one of them could wait for as long as etcd or a peer
is slow, or forever if etcd is stopped (SIGSTOP, a frozen VM). Here every step gets a
bound (`STEPS`): a step that overruns is cancelled and named in the log with how long it
had taken, and the stop moves on to the next step, so the whole stop takes at most
`total_bound_s()` plus the embedded etcd's kill. A watchdog thread
(`common.bounded.Watchdog`, armed by the program, cli/server.py, as the stop begins)
backs that with a hard limit that does not depend on the event loop at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from dockyard.common.bounded import CANCEL_WAIT_S
from dockyard.common.bounded import bounded as bounded_step

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
# The watchdog's margin over the steps' sum: the embedded etcd's last kill (up to
# 2 s), then logging and exiting.
WATCHDOG_MARGIN_S = 3.0


def total_bound_s(steps: dict[str, float] | None = None) -> float:
    """The longest the stop's steps take together: the sum of their bounds, and for
    each the wait for its cancellation when it overruns (CANCEL_WAIT_S). Pure."""
    chosen = STEPS if steps is None else steps
    return sum(chosen.values()) + len(chosen) * CANCEL_WAIT_S


async def bounded(step: str, work: Awaitable[Any]) -> bool:
    """`common.bounded.bounded` with the step's bound from STEPS, in the server's log."""
    return await bounded_step(step, work, STEPS[step], log=log)
