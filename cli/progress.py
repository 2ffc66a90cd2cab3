"""How a long wait (`apply --wait`) shows its progress.

In a terminal: one bar per service (healthy or completed out of wanted) with the time
spent, redrawn in place by rich, and each change of a service's state printed above the
bars. Anywhere else (a pipe, a CI log): only the changes, one plain line each, exactly
as before. rich is imported only in the terminal case.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class WaitReport(Protocol):
    def line(self, text: str) -> None:
        """A line to keep: a wave, a change of state, the outcome."""

    def service(self, name: str, done: int, want: int, summary: str) -> None:
        """Where one service stands now."""

    def close(self) -> None:
        """The wait is over (done, failed, timed out or interrupted)."""


class PlainReport:
    """Lines only: what a log or a pipe gets."""

    def line(self, text: str) -> None:
        print(text, flush=True)

    def service(self, name: str, done: int, want: int, summary: str) -> None:
        pass

    def close(self) -> None:
        pass


class LiveReport:
    """Bars redrawn in place, with the kept lines printed above them."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.fields[name]:<16}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.description}"), transient=True)
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def line(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def service(self, name: str, done: int, want: int, summary: str) -> None:
        detail = summary.split(": ", 1)[-1]
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(detail, total=max(want, 1), name=name)
        self._progress.update(self._tasks[name], completed=min(done, max(want, 1)),
                              total=max(want, 1), description=detail)

    def close(self) -> None:
        self._progress.stop()  # a second stop does nothing


def wait_report() -> WaitReport:
    """Bars on a terminal, plain lines elsewhere."""
    return LiveReport() if sys.stdout.isatty() else PlainReport()
