"""The progress lines of `make bench-scale`, printed (and flushed) as the run goes.

The full form runs for ten minutes and more; without these lines it said nothing until
the report at the end, and a run that hung looked like one that worked. Each phase
prints one line when it ends: the time since the start, the phase, how far it got and
how long it took. A wait that goes on prints how far it is every `tick_s` seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from dockyard.deploy.bench.scale_probe import Waited


def waited_text(w: Waited, want: int, what: str) -> str:
    """"90/90 nodes ready in 5.31 s", or "NOT DONE: 45/90 nodes ready after 60.0 s". Pure."""
    if w.ok:
        return f"{w.last}/{want} {what} in {w.seconds:.2f} s"
    return f"NOT DONE: {w.last}/{want} {what} after {w.seconds:.1f} s"


class Progress:
    """Prints `[  12.3 s] phase: detail` lines, flushed at once."""

    def __init__(self, out: TextIO | None = None, *, tick_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._clock = clock
        self._t0 = clock()
        self.tick_s = tick_s

    def line(self, phase: str, detail: str) -> None:
        out = self._out if self._out is not None else sys.stdout
        print(f"[{self._clock() - self._t0:7.1f} s] {phase}: {detail}", file=out, flush=True)

    def waited(self, phase: str, w: Waited, want: int, what: str) -> None:
        self.line(phase, waited_text(w, want, what))

    def ticker(self, phase: str, want: int, what: str) -> Callable[[int, float], None]:
        """For `poll(..., tick=)`: a line saying how far a long wait is."""
        return lambda last, seconds: self.line(
            phase, f"waiting: {last}/{want} {what} after {seconds:.0f} s")
