"""`-o json` text, byte for byte `json.dumps(value, indent=2, sort_keys=True)`, fast. Pure.

The standard library writes indented JSON with its pure-Python encoder (its C encoder
only writes JSON without indentation): about 0.35 s for 10,000 task rows, longer than
the rest of `dockyard get tasks -o json` together. A list of rows whose values are all
plain scalars is the common case of every `get`, and for it the C encoder can write the
indented text itself: with `",\\n" + indent` as its item separator, the lines of each
row come out indented already, and only the braces between rows need their own lines.
A raw newline never occurs inside a JSON string (it is written `\\n`), so the text
between two rows, `},\\n    {`, occurs nowhere else. Anything else (nested values, empty
rows) goes through `json.dumps` as before; tests/unit/cli/test_jsontext.py holds the
two equal. Rows whose keys are all made in sorted order are not sorted again.
"""

from __future__ import annotations

import json
from typing import Any

_SCALARS = frozenset({str, int, float, bool, type(None)})
_KEYS = frozenset({str})


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2, sort_keys=True)`, the same text. Pure."""
    return _text(value, "")


def _text(value: Any, pad: str) -> str:
    if type(value) is list and value and all(map(_flat, value)):
        return _rows(value, pad)
    if type(value) is dict and value and _KEYS.issuperset(map(type, value)):
        inner = pad + "  "
        items = [f"{inner}{json.dumps(k)}: {_text(v, inner)}" for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return json.dumps(value, indent=2, sort_keys=True).replace("\n", "\n" + pad)


def _flat(row: Any) -> bool:
    """A non-empty dict of string keys and scalar values. Pure."""
    return (type(row) is dict and bool(row) and _KEYS.issuperset(map(type, row))
            and _SCALARS.issuperset(map(type, row.values())))


def _rows(rows: list[dict[str, Any]], pad: str) -> str:
    """Flat rows, indented below a list that is itself indented by `pad`. Pure."""
    field = "\n" + pad + "    "
    encoder = json.JSONEncoder(sort_keys=not _in_order(rows), separators=("," + field, ": "))
    text = encoder.encode(rows)  # '[{"a": 1,\n    "b": 2},\n    {"a": 3, ...}]'
    between = "\n" + pad + "  },\n" + pad + "  {" + field
    body = text[2:-2].replace("}," + field + "{", between)
    return "[\n" + pad + "  {" + field + body + "\n" + pad + "  }\n" + pad + "]"


def _in_order(rows: list[dict[str, Any]]) -> bool:
    """Whether every row has the same keys, made in sorted order (as `render.task_row`
    makes them): the encoder need not sort each row's keys then, a third of its time
    at 10,000 rows. Pure."""
    keys = tuple(rows[0])
    return list(keys) == sorted(keys) and all(tuple(row) == keys for row in rows)
