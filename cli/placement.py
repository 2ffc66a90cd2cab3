"""How `dockyard apply --dry-run` shows where new tasks would run.

Why apart: the server answers one placement per new task (controlplane/preview.py);
a person reads a line per task for a few replicas, and per node for many, while `-o json`
keeps every task. Pure functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from dockyard.v1 import control_pb2

# More new tasks than this in one service are shown per node, not per task.
PER_TASK_LINES = 20
_NODES_SHOWN = 10


def placement_rows(change: control_pb2.ServiceChange) -> list[dict[str, Any]]:
    """The placements of one change, for `-o json`. Pure."""
    return [{"slot": p.slot, "node": p.node, "pending": p.pending} for p in change.placements]


def placement_lines(service: str,
                    placements: Sequence[control_pb2.TaskPlacement]) -> list[str]:
    """Indented lines under a service's change: one per new task, or, beyond
    PER_TASK_LINES tasks, one for where they would run and one per reason to wait. Pure."""
    if len(placements) <= PER_TASK_LINES:
        return [f"  {service}.{p.slot} would run on {p.node}" if p.node
                else f"  {service}.{p.slot} would wait: {p.pending}" for p in placements]
    lines = []
    on = Counter(p.node for p in placements if p.node)
    if on:
        ranked = sorted(on.items(), key=lambda item: (-item[1], item[0]))
        shown = ", ".join(f"{node} ({count})" for node, count in ranked[:_NODES_SHOWN])
        more = len(ranked) - _NODES_SHOWN
        lines.append(f"  {sum(on.values())} new tasks would run on {shown}"
                     + (f" and {more} more nodes" if more > 0 else ""))
    waiting = Counter(p.pending for p in placements if not p.node)
    for reason, count in sorted(waiting.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {count} would wait: {reason}")
    return lines
