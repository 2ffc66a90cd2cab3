"""When the server declared nodes down, read from its log: the failover's two halves.

The failover figure (SIGKILL of a hollow process until every replica runs on a live
node) is detection plus replacement. The server logs each node it declares down with
the time (controlplane/liveness.py, "no longer alive"), so the bench splits the figure:
kill to declared (the failure detector) and declared to running (the leader's round,
the sessions, the agents). The same lines name live nodes declared down at any time in
the run: unlike the sampler's floor, the log misses no blip.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from pathlib import Path

from dockyard.controlplane.config import ServerConfig
from dockyard.controlplane.detector import PROBATION

_DECLARED = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*node (\S+): no heartbeat .* no longer alive")


def declared(lines: Iterable[str]) -> list[tuple[float, str]]:
    """(Unix time, node) of each "no longer alive" line, in the log's order. The log's
    times are the machine's local time, as the bench's own clock. Pure."""
    out = []
    for line in lines:
        m = _DECLARED.match(line)
        if m is None:
            continue
        stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        out.append((stamp.timestamp(), m.group(2)))
    return out


def detection(events: list[tuple[float, str]], *, killed_at: float, dead: set[str]
              ) -> dict[str, object]:
    """Seconds from the kill to each dead node's first declaration (first, median, last,
    how many of them), and the live nodes declared down over the whole run. Pure."""
    first: dict[str, float] = {}
    for at, node in events:
        if node in dead and at >= killed_at - 0.5:  # log times have ms, clocks differ
            first.setdefault(node, at - killed_at)
    after = sorted(first.values())
    live = sorted({node for _, node in events if node not in dead})
    return {
        "dead_declared": len(after),
        "first_s": round(after[0], 2) if after else None,
        "median_s": round(after[len(after) // 2], 2) if after else None,
        "last_s": round(after[-1], 2) if after else None,
        "live_declared": len(live),
        "live_declared_nodes": live[:20],
    }


HEARTBEAT_S = ServerConfig().heartbeat_s  # the bench's servers keep the default period


def probation_wait_s(ready_at: float, now: float, period_s: float = HEARTBEAT_S) -> float:
    """How long to wait, at `now`, before killing nodes that were all ready at
    `ready_at`, so that each is past its probation: until a node has PROBATION heartbeat
    intervals the server judges it by the longest grace (controlplane/detector.py), and
    a failover timed then measures that grace, not the node grace. Its first beat comes
    about a period after it registers, and is no interval; then PROBATION periods, and
    one of slack. Pure."""
    return max(0.0, ready_at + (PROBATION + 2) * period_s - now)


def read_declared(log: Path) -> list[tuple[float, str]]:
    """The declarations in the server's log file (none when it cannot be read)."""
    try:
        return declared(log.read_text(errors="replace").splitlines())
    except OSError:
        return []
