"""The ListTasks answer from the mirror as bytes, each task's part encoded once.

Copying 10,000 tasks and their statuses into one answer message, then serializing it,
cost the server about 0.05 s of CPU per `dockyard get tasks`, on the event loop that
also serves every session. Between two reads most tasks do not change, and the mirror
replaces a task or status object whenever it changes (it never edits one in place), so
each task's part of the answer (its field tag, length and bytes) is kept with the very
objects it was made from and made again only when one of them is another object. The
answer is the parts joined in the order of `viewreads.tasks_response`; gRPC sends bytes
a handler returns as they are (`roles.passing`).

A brief answer (`ListRequest.brief`, what `get tasks` asks for) carries of each task
only what `dockyard get tasks` shows, less than half the bytes at 10,000 tasks: the
server encrypts, and the CLI decodes, that much less.

A `get tasks -o json` asks for the rows' text instead (`ListRequest.json_rows`): each
task's row as JSON (common/taskrows.py) is kept the same way, and the answer is them
joined in the CLI's order, so the CLI only writes it out. Making the rows and their JSON
was about 0.12 s of the CLI's CPU at 10,000 tasks on every call; kept here, it is paid
once per change of a task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from dockyard.common.taskrows import row_text, rows_text, sort_key, task_row
from dockyard.controlplane.api.viewreads import in_key_order
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2

# What a brief task keeps: what `dockyard get tasks` shows (common/taskrows.py `task_row`).
BRIEF_TASK = frozenset({"meta", "app", "service", "slot", "node", "desired_state", "status",
                        "unplaced_reason"})
BRIEF_META = frozenset({"id"})
BRIEF_STATUS = frozenset({"state", "health", "container_id", "exit_code", "message",
                          "started_ms", "healthy_ms", "restarts"})

_TASKS_FIELD = b"\x0a"  # ListTasksResponse.tasks: field 1, length-delimited
_STATUS_FIELD = b"\x4a"  # Task.status: field 9, length-delimited
_JSON_FIELD = b"\x12"  # ListTasksResponse.json_rows: field 2, length-delimited


def _keep_only(message: objects_pb2.Task | objects_pb2.Meta | objects_pb2.TaskStatus,
               names: frozenset[str]) -> None:
    """Clear every set field of `message` not named in `names`."""
    for fd, _ in message.ListFields():
        if fd.name not in names:
            message.ClearField(fd.name)


def merged(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None) -> objects_pb2.Task:
    """A copy of `task` with `status` as its status (the task's own when None), as
    ListTasks answers it. Pure."""
    out = objects_pb2.Task()
    out.CopyFrom(task)
    if status is not None:
        out.status.CopyFrom(status)
    return out


def brief(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None = None
          ) -> objects_pb2.Task:
    """The brief form of `merged(task, status)`: only what `dockyard get tasks` shows.
    Pure."""
    out = merged(task, status)
    _keep_only(out, BRIEF_TASK)
    _keep_only(out.meta, BRIEF_META)
    _keep_only(out.status, BRIEF_STATUS)
    return out


def _varint(n: int) -> bytes:
    """`n` as a protobuf base-128 varint. Pure."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, body: bytes) -> bytes:
    return tag + _varint(len(body)) + body


def encode_part(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None,
                *, is_brief: bool) -> bytes:
    """One task's part of a ListTasksResponse: its field tag, length and bytes. Pure."""
    if is_brief:
        return _field(_TASKS_FIELD, brief(task, status).SerializeToString())
    if status is None:
        return _field(_TASKS_FIELD, task.SerializeToString())
    if task.HasField("status"):  # the status record replaces it, as CopyFrom would
        task = merged(task, None)
        task.ClearField("status")
    body = task.SerializeToString() + _field(_STATUS_FIELD, status.SerializeToString())
    return _field(_TASKS_FIELD, body)


_Part = tuple[objects_pb2.Task, objects_pb2.TaskStatus | None, bytes]
# A task's row: (task, status, its place in the CLI's order, the row's JSON text).
_Row = tuple[objects_pb2.Task, objects_pb2.TaskStatus | None, tuple[str, str, int], bytes]


def json_answer(text: bytes) -> bytes:
    """The serialized ListTasksResponse whose `json_rows` is `text`. Pure."""
    return _field(_JSON_FIELD, text)


@dataclass
class TaskParts:
    """Each task's encoded part, kept with the task and status objects it was made
    from (whole and brief apart). One per Control servicer; used on the event loop only."""

    whole: dict[str, _Part] = field(default_factory=dict)
    short: dict[str, _Part] = field(default_factory=dict)
    rows: dict[str, _Row] = field(default_factory=dict)

    def answer(self, view: ClusterView, app: str = "", *, is_brief: bool = False) -> bytes:
        """The serialized ListTasksResponse for every task (of `app`, if given), the same
        message as `viewreads.tasks_response` (brief: with each task `brief`)."""
        def make(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None) -> _Part:
            return task, status, encode_part(task, status, is_brief=is_brief)

        parts = _current(self.short if is_brief else self.whole, view, app, make)
        return b"".join(p[2] for p in parts)

    def json_rows(self, view: ClusterView, app: str = "") -> bytes:
        """The serialized ListTasksResponse whose `json_rows` is what `dockyard get tasks
        -o json` prints for every task (of `app`, if given): the same text as
        `taskrows.tasks_text` of `viewreads.tasks_response`'s tasks."""
        def make(task: objects_pb2.Task, status: objects_pb2.TaskStatus | None) -> _Row:
            return task, status, sort_key(task), row_text(task_row(task, status))

        rows = _current(self.rows, view, app, make)
        rows.sort(key=_order)  # stable: ties stay in key order, as the CLI's sort leaves them
        return json_answer(rows_text(r[3] for r in rows))


_Kept = TypeVar("_Kept", _Part, _Row)


def _current(kept: dict[str, _Kept], view: ClusterView, app: str,
             make: Callable[[objects_pb2.Task, objects_pb2.TaskStatus | None], _Kept]
             ) -> list[_Kept]:
    """What is kept for each task (of `app`, if given) in key order, made again for a
    task whose task or status object is another one; deleted tasks' are dropped once
    there is a quarter more than tasks."""
    statuses = view.statuses
    out: list[_Kept] = []
    for tid, task in in_key_order(view, app):
        status = statuses.get(tid)
        entry = kept.get(tid)
        if entry is None or entry[0] is not task or entry[1] is not status:
            entry = kept[tid] = make(task, status)
        out.append(entry)
    if len(kept) > len(view.tasks) + len(view.tasks) // 4 + 64:
        for tid in [t for t in kept if t not in view.tasks]:
            del kept[tid]
    return out


def _order(row: _Row) -> tuple[str, str, int]:
    return row[2]
