"""The one exception the spec layer raises, and helpers that keep its message readable.

Why: the CLI prints a ``SpecError`` as one line on stderr and exits 1, with no
traceback. Every bad input, however strange, must therefore end up here, with a message
that names the service and the key when there is one.
"""

from __future__ import annotations

import json
from typing import Any

_MAX_SHOWN = 60


class SpecError(ValueError):
    """Bad input in an app spec. ``str()`` is always one readable line."""

    def __init__(self, message: str) -> None:
        one_line = " ".join(message.split())
        super().__init__(one_line)
        self.message = one_line


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
