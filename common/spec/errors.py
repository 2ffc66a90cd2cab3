"""The one exception the spec layer raises, and helpers that keep its message readable.

Why: the CLI prints a ``SpecError`` as one line on stderr and exits 1, with no
traceback. Every bad input, however strange, must therefore end up here, with a message
that names the service and the key when there is one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

_MAX_SHOWN = 60


class SpecError(ValueError):
    """Bad input in an app spec. ``str()`` is always one readable line.

    One error may carry several problems (``problems``, one line each), so that a file
    with five mistakes is fixed in one round: ``str()`` is then the first, with a count
    of the rest, and the CLI prints them all (capped, see ``MAX_SHOWN_PROBLEMS``).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        one_line = " ".join(message.split())
        super().__init__(one_line)
        self.message = one_line
        self.problems: tuple[str, ...] = problems or (one_line,)

    @classmethod
    def many(cls, problems: list[str] | tuple[str, ...]) -> SpecError:
        """One error for several problems, in the order found, without repeats."""
        lines = tuple(dict.fromkeys(" ".join(p.split()) for p in problems))
        if len(lines) == 1:
            return cls(lines[0])
        return cls(f"{lines[0]} (and {len(lines) - 1} more problems)", lines)


# The CLI prints at most this many problems, then a count of the rest.
MAX_SHOWN_PROBLEMS = 20


def problem_lines(error: SpecError) -> list[str]:
    """The lines to print for ``error``: each problem, capped, with a count. Pure."""
    lines = list(error.problems[:MAX_SHOWN_PROBLEMS])
    rest = len(error.problems) - len(lines)
    if rest:
        lines.append(f"... and {rest} more problems")
    return lines


class Notes:
    """Warnings and problems gathered while loading, so every problem is reported at once.

    ``collect()`` wraps one independent step: a ``SpecError`` inside it is recorded and
    loading goes on with the next step.
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @contextlib.contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except SpecError as exc:
            self.problems.extend(exc.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecError.many(self.problems)


def show(value: Any) -> str:
    """A short, one-line rendering of a user's value for an error message.

    Strings are double-quoted; long values are cut with an ellipsis.
    """
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        try:
            text = repr(value)
        except RecursionError:  # a self-referencing YAML alias
            text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def kind(value: Any) -> str:
    """The YAML name of a value's type, for "expected a mapping, got a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
