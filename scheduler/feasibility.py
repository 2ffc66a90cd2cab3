"""Whether one task fits one node, now or ever, and the reason when it does not.

Why this module exists: the plan applier re-checks every placement of a plan against a
fresher snapshot before it commits (Nomad's leader does the same), and the API refuses
an apply whose tasks no node could ever hold.  Both need a per-node answer with a short
reason, written in plain Python over the public model so it is obviously right; the
vectorised filters in ``cluster.py`` must agree with it, and the tests check that they do.

Filters run in a fixed order and the first failure is the reason: node down, node
drained, constraints, max_per_node, host ports, cpu, memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler import explain
from scheduler.constraints import constraint_holds, first_failed
from scheduler.model import NodeInfo, TaskRequest


def fit_reason(*, node: NodeInfo, task: TaskRequest) -> str | None:
    """``None`` when ``task`` fits ``node`` as it is now, else a short reason.

    Reasons: ``"node down"``, ``"node drained"``, ``"failed node.labels.zone==b"``,
    ``"max_per_node 1 reached"``, ``"port 8080 in use"``, ``"insufficient cpu"``,
    ``"insufficient memory"``.  A pure function.
    """
    if not node.ready:
        return explain.NODE_DOWN
    if node.drained:
        return explain.NODE_DRAINED
    broken = first_failed(constraints=task.constraints, node=node)
    if broken is not None:
        return explain.failed_constraint(broken)
    limit = task.max_per_node
    if limit is not None and node.service_counts.get(task.service, 0) >= limit:
        return explain.max_per_node_reached(limit)
    clashing = sorted(task.ports & node.used_ports)
    if clashing:
        return explain.port_in_use(clashing[0])
    free = node.free
    if task.demand.cpu_millis > free.cpu_millis:
        return explain.INSUFFICIENT_CPU
    if task.demand.memory_bytes > free.memory_bytes:
        return explain.INSUFFICIENT_MEMORY
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
    if not nodes:
        return "the cluster has no nodes"
    if task.max_per_node is not None and task.max_per_node < 1:
        return f"max_per_node is {task.max_per_node}"
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
