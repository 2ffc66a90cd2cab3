"""Printing rows: `-o json|yaml` for scripts, a table for people.

JSON and YAML are byte for byte what `render.dump` makes, wherever stdout goes. A table
is drawn with rich only when stdout is a terminal; a pipe or a file gets the plain,
space-aligned text of `render.table`, so `dockyard get nodes | grep` and CI logs read
the same as before. rich is imported only on that terminal path.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dockyard.cli import render


def print_rows(kind: str, rows: Sequence[render.Row], output: str) -> None:
    if output != "table":
        print(render.dump(list(rows), output))
    elif sys.stdout.isatty():
        print_rich_table(kind, rows)
    else:
        print(render.table(kind, rows))


def write_out(text: bytes) -> None:
    """Write `text` to stdout as it is, in one write (after anything printed before)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text)
    sys.stdout.buffer.flush()


def print_rich_table(kind: str, rows: Sequence[render.Row]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, _ in render.TABLE_COLUMNS[kind]:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(render.cell(row, key) for _, key in render.TABLE_COLUMNS[kind]))
    Console().print(table)
