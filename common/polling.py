"""Waiting for a condition, bounded in time and in count: one helper for benchmarks,
chaos scenarios and end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], *, timeout_s: float = 60,
             every_s: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy, and return that. After `timeout_s`
    raise TimeoutError naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    for _ in range(int(timeout_s / every_s) + 2):
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:g}s waiting for {what}; last: {last!r}")
