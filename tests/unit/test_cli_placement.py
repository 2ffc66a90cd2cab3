"""How `apply --dry-run` shows where new tasks would run: a line per task for a few,
per node and per reason to wait for many; every task in `-o json`."""

from __future__ import annotations

from dockyard.cli.placement import PER_TASK_LINES, placement_lines, placement_rows
from dockyard.v1 import control_pb2


def _p(slot: int, node: str = "", pending: str = "") -> control_pb2.TaskPlacement:
    return control_pb2.TaskPlacement(slot=slot, node=node, pending=pending)


def test_a_line_per_task_for_a_few() -> None:
    lines = placement_lines("web", [_p(1, "h2"), _p(2, "h1"), _p(3, pending="0/2 nodes fit")])
    assert lines == ["  web.1 would run on h2", "  web.2 would run on h1",
                     "  web.3 would wait: 0/2 nodes fit"]
    assert placement_lines("web", []) == []


def test_many_tasks_are_counted_per_node_and_per_reason() -> None:
    many = [_p(i, f"n{i % 12:02d}") for i in range(1, 2 * PER_TASK_LINES)]
    many += [_p(100, pending="0/12 nodes fit: 12 insufficient cpu"),
             _p(101, pending="0/12 nodes fit: 12 insufficient cpu")]
    lines = placement_lines("web", many)
    assert len(lines) == 2
    assert lines[0].startswith(f"  {2 * PER_TASK_LINES - 1} new tasks would run on n01 (4), ")
    assert lines[0].endswith(" and 2 more nodes")
    assert lines[1] == "  2 would wait: 0/12 nodes fit: 12 insufficient cpu"


def test_json_keeps_every_task() -> None:
    change = control_pb2.ServiceChange(service="web", action="created",
                                       placements=[_p(1, "h1"), _p(2, pending="why")])
    assert placement_rows(change) == [{"slot": 1, "node": "h1", "pending": ""},
                                      {"slot": 2, "node": "", "pending": "why"}]
