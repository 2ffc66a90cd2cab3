"""Admission: the checks an apply must pass against the cluster before anything is stored.

The Compose parser already refused malformed files on the client. The server checks
again what a client could get wrong and what only the cluster knows: dependency cycles,
unknown dependencies, and requests no node could ever hold. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from controlplane.snapshot import node_infos, task_request
from dockyard.v1 import objects_pb2, specs_pb2
from scheduler import never_fits
from scheduler.dag import find_cycle


def admit(spec: specs_pb2.AppSpec, nodes: Sequence[objects_pb2.Node]) -> str | None:
    """None when the app may be stored; otherwise the one-line reason it may not."""
    if not spec.name:
        return "the app has no name"
    names = {s.name for s in spec.services}
    for svc in spec.services:
        for dep in svc.depends_on:
            if dep.service not in names:
                return f'service "{svc.name}" depends on "{dep.service}", which is not defined'
        if svc.replicas < 0:
            return f'service "{svc.name}": replicas must be >= 0'
    cycle = find_cycle({s.name: [d.service for d in s.depends_on] for s in spec.services})
    if cycle:
        return "dependency cycle: " + " -> ".join(cycle)
    if not nodes:
        return None  # nothing to judge against yet: tasks wait for nodes
    infos = node_infos(nodes, ())
    for svc in spec.services:
        probe = objects_pb2.Task(app=spec.name, service=svc.name, spec=svc)
        probe.meta.id = f"{spec.name}.{svc.name}"
        try:
            request = task_request(probe)
        except ValueError as exc:
            return f'service "{svc.name}": {exc}'
        reason = never_fits(nodes=infos, task=request)
        if reason:
            return f'service "{svc.name}" can never be placed: {reason}'
    return None
