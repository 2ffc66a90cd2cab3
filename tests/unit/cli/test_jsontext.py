"""`-o json` writes exactly what `json.dumps(indent=2, sort_keys=True)` writes, however
the rows look: the fast path for flat rows must never change a byte of the output."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dockyard.cli import jsontext, render
from dockyard.v1 import objects_pb2


def reference(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


ODD_STRINGS = ["", "plain", 'quote " and backslash \\', "new\nline\ttab", "},\n    {",
               "ünïcödé ✓", "\x00\x1f", "emoji 🚢", "[1, 2]", '{"a": 1}']
SHAPES: list[Any] = [
    [], {}, [{}], [{}, {"a": 1}], 0, "x", None, [1, 2, 3], [[{"a": 1}]],
    [{"b": 1, "a": 2}],
    [{"s": s, "n": i, "f": i / 3, "t": True, "z": None} for i, s in enumerate(ODD_STRINGS)],
    [{"labels": {"b": "2", "a": "1"}, "name": "n1"}, {"labels": {}, "name": "n2"}],
    [{"ports": ["80:80/tcp"], "app": "a"}, {"ports": [], "app": "b"}],
    [{"a": 1}, {"a": [1]}],  # one nested row among flat ones
    {"app": "x", "waves": [["db"], ["web"]], "tasks": [{"id": "t1", "slot": 1}],
     "services": [], "events": [{"message": "m", "timestamp_ms": 5}]},
    {"outer": {"inner": [{"k": "v"}, {"k": "w"}]}},
    [{"f": float("inf"), "g": -0.0, "h": 1e16, "i": 2**70}],
    [{1: "int key"}], [{"k": (1, 2)}], {"only": [{"x": 1}]},
    # Rows made with their keys in order are not sorted again; any other row is.
    [{"a": 1, "b": 2}, {"a": 3, "b": 4}], [{"a": 1, "b": 2}, {"b": 3, "a": 4}],
    [{"a": 1, "b": 2}, {"a": 3, "c": 4}], [{"a": 1, "c": 2}, {"a": 3, "b": 4}],
    [{"b": 1, "a": 2}, {"b": 3, "a": 4}], [{"a": 1, "b": 2}, {"a": 3}],
]


@pytest.mark.parametrize("value", SHAPES, ids=range(len(SHAPES)))
def test_same_text_as_the_standard_library(value: Any) -> None:
    assert jsontext.dumps(value) == reference(value)


def test_same_text_for_random_rows() -> None:
    rng = random.Random(12)
    pool: list[Any] = [*ODD_STRINGS, 0, -7, 2**40, 1.5, True, False, None, [], {"x": 1}]
    for _ in range(200):
        rows = [{rng.choice("abcdefgh"): rng.choice(pool) for _ in range(rng.randint(0, 5))}
                for _ in range(rng.randint(0, 6))]
        value: Any = rows if rng.random() < 0.8 else {"rows": rows, "n": len(rows)}
        assert jsontext.dumps(value) == reference(value)


def test_same_text_for_rows_of_one_shape_in_any_key_order() -> None:
    rng = random.Random(7)
    for _ in range(200):
        keys = sorted(rng.sample("abcdefghij", rng.randint(1, 6)))
        rows = []
        for _ in range(rng.randint(1, 5)):
            order = keys if rng.random() < 0.8 else rng.sample(keys, len(keys))
            rows.append({k: rng.choice([*ODD_STRINGS, 1, None]) for k in order})
        assert jsontext.dumps(rows) == reference(rows)


def test_real_task_rows_dump_as_before() -> None:
    tasks = []
    for i in range(50):
        t = objects_pb2.Task(app="shop", service="web", slot=i, node=f"h{i % 3}",
                             desired_state=objects_pb2.DESIRED_RUNNING,
                             unplaced_reason="" if i % 5 else "0/3 nodes fit")
        t.meta.id = f"{i:012x}"
        t.status.state = objects_pb2.RUNNING if i % 2 else objects_pb2.TaskState.Value("FAILED")
        t.status.restarts = i % 6
        t.status.message = "exit ✗" if i % 7 == 0 else ""
        tasks.append(t)
    rows = [render.task_row(t) for t in tasks]
    assert render.dump(rows, "json") == reference(rows)
    assert json.loads(render.dump(rows, "json")) == rows
