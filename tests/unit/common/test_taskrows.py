"""A task's row and its `-o json` text: the text of any list of task rows is byte for
byte `json.dumps(rows, indent=2, sort_keys=True)` in the order `get tasks` prints them,
whatever the strings hold, so the server may write what the CLI prints."""

from __future__ import annotations

import json
import random
from operator import itemgetter

from dockyard.cli import render
from dockyard.common import taskrows
from dockyard.v1 import objects_pb2

ODD = ["", "plain", 'quote " and backslash \\', "new\nline\ttab", "},\n    {", "ünïcödé ✓",
       "\x00\x1f", "emoji 🚢", "[1, 2]"]


def odd_task(rng: random.Random, i: int) -> objects_pb2.Task:
    t = objects_pb2.Task(app=rng.choice(["shop", "shop-b", "a/b"]), service=rng.choice(ODD),
                         slot=rng.randint(0, 4), node=rng.choice(["", "h1", "höst"]),
                         desired_state=rng.choice([0, objects_pb2.DESIRED_RUNNING]),
                         unplaced_reason=rng.choice(ODD))
    t.meta.id = f"{i:04x}"
    t.status.state = rng.choice([0, objects_pb2.RUNNING, objects_pb2.TaskState.Value("FAILED")])
    t.status.message = rng.choice(ODD)
    t.status.container_id = rng.choice(ODD)
    t.status.restarts = rng.randint(0, 5)
    t.status.exit_code = rng.choice([0, 1, -9, 2**31 - 1])
    t.status.started_ms = rng.randint(0, 2**62)
    return t


def reference(tasks: list[objects_pb2.Task]) -> bytes:
    """What `get tasks -o json` printed before the server wrote it: the CLI's rows,
    sorted by app, service and slot, through the standard library."""
    rows = sorted((taskrows.task_row(t) for t in tasks), key=itemgetter("app", "service", "slot"))
    return json.dumps(rows, indent=2, sort_keys=True).encode()


def test_the_text_is_the_standard_librarys_for_any_tasks() -> None:
    rng = random.Random(5)
    for n in [0, 1, 2, 3, *range(5, 60, 7)]:
        tasks = [odd_task(rng, i) for i in range(n)]
        assert taskrows.tasks_text(tasks) == reference(tasks)


def test_a_status_given_apart_is_the_tasks_status() -> None:
    rng = random.Random(9)
    for i in range(100):
        task, other = odd_task(rng, i), odd_task(rng, i + 1000)
        merged = objects_pb2.Task()
        merged.CopyFrom(task)
        merged.status.CopyFrom(other.status)
        assert taskrows.task_row(task, other.status) == taskrows.task_row(merged)


def test_rows_read_as_a_user_expects() -> None:
    t = objects_pb2.Task(app="shop", service="web", slot=2, node="h1",
                         desired_state=objects_pb2.DESIRED_RUNNING)
    t.meta.id = "t1"
    t.status.restarts, t.status.exit_code = 4, 3
    row = json.loads(taskrows.tasks_text([t]))[0]
    assert row["state"] == "assigned" and row["desired"] == "running"
    assert row["message"] == "crash-looping: 4 restarts, last exit 3"
    assert list(taskrows.task_row(t)) == sorted(taskrows.task_row(t))


def test_the_table_drawn_from_the_text_is_the_table_drawn_from_the_tasks() -> None:
    rng = random.Random(11)
    for n in (0, 1, 4, 30):
        tasks = [odd_task(rng, i) for i in range(n)]
        rows = sorted((render.task_row(t) for t in tasks), key=itemgetter("app", "service", "slot"))
        from_text = render.table("tasks", json.loads(taskrows.tasks_text(tasks)))
        assert from_text == render.table("tasks", rows)
        assert from_text.startswith("ID ") and from_text.count("\n") >= n
