"""Whether a task could ever run: impossible requests and tasks no node could hold.

Why this module exists: the API refuses an apply whose tasks no cluster or no node of
this cluster could ever hold, with a sentence that says what is missing ("needs 64 GiB
memory; the largest node has 8 GiB"), and ``place`` refuses the same impossible
requests instead of computing on them.  Whether a task fits a node *now* is the rules'
business (``rules.py``); this module answers only "never".
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.scheduler import explain
from dockyard.scheduler.constraints import constraint_holds
from dockyard.scheduler.model import MAX_AMOUNT, NodeInfo, TaskRequest


def invalid_reason(task: TaskRequest) -> str | None:
    """A one-line reason when ``task`` asks for something no cluster can give, else None.

    Negative or absurdly large reservations and a ``max_per_node`` below 1 are refused
    here, before any loop sees them, so ``place`` answers with a rejection instead of
    computing on nonsense.  A pure function.
    """
    demand = task.demand
    for name, amount, shown in (
        ("cpu", demand.cpu_millis, explain.format_cpus),
        ("memory", demand.memory_bytes, explain.format_bytes),
    ):
        if amount < 0:
            return f"invalid {name} reservation {shown(amount)}: must not be negative"
        if amount > MAX_AMOUNT:
            return f"invalid {name} reservation {shown(amount)}: above {shown(MAX_AMOUNT)}"
    if task.max_per_node is not None and task.max_per_node < 1:
        return f"invalid max_per_node {task.max_per_node}: must be at least 1"
    return None


def _largest(*, nodes: Sequence[NodeInfo]) -> tuple[int, int]:
    return (
        max(node.capacity.cpu_millis for node in nodes),
        max(node.capacity.memory_bytes for node in nodes),
    )


def never_fits(*, nodes: Sequence[NodeInfo], task: TaskRequest) -> str | None:
    """A reason when no node could ever hold ``task``, even empty; else ``None``.

    Only capacity, constraints and ``max_per_node`` count: current allocation,
    readiness and drain are ignored because they change.  For example
    ``"needs 64 GiB memory; the largest node has 8 GiB"``.  A pure function.
    """
    invalid = invalid_reason(task)
    if invalid is not None:
        return invalid
    if not nodes:
        return "the cluster has no nodes"
    matching = [
        node
        for node in nodes
        if all(constraint_holds(constraint=c, node=node) for c in task.constraints)
    ]
    if not matching:
        rules = " and ".join(str(c) for c in task.constraints)
        return f"no node satisfies {rules}"
    if any(task.demand.fits_in(node.capacity) for node in matching):
        return None
    where = "the largest node"
    if len(matching) < len(nodes):
        where = "the largest node matching " + " and ".join(str(c) for c in task.constraints)
    cpu, memory = _largest(nodes=matching)
    need_cpu = task.demand.cpu_millis > cpu
    need_memory = task.demand.memory_bytes > memory
    wants_cpu = explain.format_cpus(task.demand.cpu_millis)
    wants_memory = explain.format_bytes(task.demand.memory_bytes)
    has_cpu = explain.format_cpus(cpu)
    has_memory = explain.format_bytes(memory)
    if need_cpu and need_memory:
        both = f"{has_cpu} and {has_memory}"
        return f"needs {wants_cpu} and {wants_memory} memory; {where} has {both}"
    if need_cpu:
        return f"needs {wants_cpu}; {where} has {has_cpu}"
    if need_memory:
        return f"needs {wants_memory} memory; {where} has {has_memory}"
    return f"needs {wants_cpu} and {wants_memory} memory; no node has both"
