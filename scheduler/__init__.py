"""Pure placement: bin-packing, constraints and spread (the dependency DAG is in dag.py).

Everything here is a function of an immutable snapshot: ``place`` turns nodes and tasks
into a ``Plan`` by running each scheduling rule (``rules.py``) over every node, and
``never_fits`` tells the API that no node could ever hold a task.  No I/O happens here.
Modules in this package may import only the standard library, numpy and networkx;
never grpc, etcd clients, docker, ``controlplane`` or ``agent``
(tests/unit/scheduler/test_scheduler_layering.py enforces it).
"""

from dockyard.scheduler.constraints import parse_constraint
from dockyard.scheduler.feasibility import invalid_reason, never_fits
from dockyard.scheduler.model import (
    Algorithm,
    BoundVolume,
    Constraint,
    NodeInfo,
    Placement,
    Plan,
    Resources,
    Strategy,
    TaskRequest,
)
from dockyard.scheduler.placement import place

__all__ = [
    "Algorithm",
    "BoundVolume",
    "Constraint",
    "NodeInfo",
    "Placement",
    "Plan",
    "Resources",
    "Strategy",
    "TaskRequest",
    "invalid_reason",
    "never_fits",
    "parse_constraint",
    "place",
]
