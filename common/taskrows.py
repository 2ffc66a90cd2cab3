"""A task as `dockyard get tasks` shows it: its row, and that row as `-o json` text. Pure.

The CLI draws its table from these rows, and the server answers a `get tasks -o json`
with their text (`ListRequest.json_rows`), kept per task beside the mirror's objects
(controlplane/api/tasklist.py): at 10,000 tasks, making the rows and their JSON was
about 0.12 s of the CLI's CPU on every call, while between two calls most tasks do not
change. Both ends use this one definition, so the two forms cannot drift apart.

The JSON text is byte for byte `json.dumps(rows, indent=2, sort_keys=True)` (what
`dockyard.cli.jsontext` prints for any other list of rows): each row's keys are made in
sorted order and its values are plain scalars, so the C encoder writes one row's lines
with `",\\n" + indent` as its item separator (tests/unit/common/test_taskrows.py holds
the two equal).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dockyard.v1 import objects_pb2

Row = dict[str, Any]

_NAMES: dict[tuple[int, int, str], str] = {}  # (id of the enum type, value, strip) -> name


def enum_name(enum_type: Any, value: int, *, strip: str = "") -> str:
    """An enum value as a user reads it ("running"; "" for unspecified), worked out once
    per value: a `get tasks` of 10,000 rows asks three times per row."""
    key = (id(enum_type), value, strip)
    name = _NAMES.get(key)
    if name is None:
        name = str(enum_type.Name(value)).removeprefix(strip).lower()
        name = _NAMES[key] = "" if name.endswith("unspecified") else name
    return name


def state_name(state: int, node: str) -> str:
    """The reported state's name; without one, whether the task has a node yet. Pure."""
    if state:
        return enum_name(objects_pb2.TaskState, state)
    return "assigned" if node else "pending"


def crash_loop(status: objects_pb2.TaskStatus) -> str:
    """A crash-loop note once a task has restarted in place three times or more."""
    if status.restarts < 3:
        return ""
    return f"crash-looping: {status.restarts} restarts, last exit {status.exit_code}"


def task_row(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None = None) -> Row:
    """A task as `get tasks` shows it, with `status` in place of its own when given (the
    mirror keeps them apart). Its keys are in sorted order, so its JSON need not sort
    them, and each field is read once: protobuf's field reads are what it costs."""
    st = task.status if status is None else status
    node = task.node
    return {
        "app": task.app,
        "container_id": st.container_id,
        "desired": enum_name(objects_pb2.DesiredState, task.desired_state, strip="DESIRED_"),
        "exit_code": st.exit_code,
        "health": enum_name(objects_pb2.Health, st.health, strip="HEALTH_"),
        "healthy_ms": st.healthy_ms,
        "id": task.meta.id,
        "message": crash_loop(st) or st.message or task.unplaced_reason,
        "node": node,
        "restarts": st.restarts,
        "service": task.service,
        "slot": task.slot,
        "started_ms": st.started_ms,
        "state": state_name(st.state, node),
    }


def sort_key(task: objects_pb2.Task) -> tuple[str, str, int]:
    """The order of `get tasks`: by app, service and slot. Pure."""
    return task.app, task.service, task.slot


_ROW = json.JSONEncoder(separators=(",\n    ", ": "))


def row_text(row: Row) -> bytes:
    """One row of a list, as `json.dumps(rows, indent=2, sort_keys=True)` writes it
    (without the comma after it), for a row made by `task_row`. Pure."""
    return ("  {\n    " + _ROW.encode(row)[1:-1] + "\n  }").encode()


def rows_text(parts: Iterable[bytes]) -> bytes:
    """The JSON list of rows whose texts are `parts`, in that order. Pure."""
    body = b",\n".join(parts)
    return b"[\n" + body + b"\n]" if body else b"[]"


def tasks_text(tasks: Iterable[objects_pb2.Task]) -> bytes:
    """What `dockyard get tasks -o json` prints for `tasks` (their statuses in them),
    without the last line break. Pure."""
    ordered = sorted(tasks, key=sort_key)
    return rows_text(row_text(task_row(t)) for t in ordered)
