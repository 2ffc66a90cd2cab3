"""The scheduler's vocabulary: what it is given and what it gives back.

Why this module exists: the control plane and the scheduler meet here and nowhere else.
The control plane turns its etcd snapshot into these immutable values (nodes with their
capacity and current allocation, tasks with their demand and placement rules), calls
``place`` and receives a ``Plan``.  Keeping the types frozen and free of any I/O means a
plan is a pure function of its inputs, so it can be re-checked, replayed and tested.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of CPU (thousandths of a core) and memory (bytes)."""

    cpu_millis: int
    memory_bytes: int

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            cpu_millis=self.cpu_millis + other.cpu_millis,
            memory_bytes=self.memory_bytes + other.memory_bytes,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            cpu_millis=self.cpu_millis - other.cpu_millis,
            memory_bytes=self.memory_bytes - other.memory_bytes,
        )

    def __mul__(self, factor: int) -> Resources:
        return Resources(
            cpu_millis=self.cpu_millis * factor,
            memory_bytes=self.memory_bytes * factor,
        )

    def fits_in(self, other: Resources) -> bool:
        """True when every dimension of ``self`` is at most that of ``other``."""
        return self.cpu_millis <= other.cpu_millis and self.memory_bytes <= other.memory_bytes


ZERO = Resources(cpu_millis=0, memory_bytes=0)

MAX_AMOUNT = 1 << 52
"""The largest cpu (millis) or memory (bytes) amount the scheduler accepts: 4 PiB of
memory or 4.5 billion cpus.  Larger reservations are refused and larger node capacities
are read as this much, so every sum stays exact in numpy's int64."""


class Strategy(enum.Enum):
    """How a service wants its replicas laid out (``x-dockyard.strategy``)."""

    BINPACK = "binpack"
    SPREAD = "spread"


class Algorithm(enum.Enum):
    """Which placement algorithm ``place`` runs.

    ``BINPACK`` and ``SPREAD`` override every task's own strategy; ``FFD``
    (first-fit-decreasing) is a baseline kept for the benchmark.  ``place`` with no
    algorithm honours each task's ``strategy``.
    """

    BINPACK = "binpack"
    SPREAD = "spread"
    FFD = "ffd"


HOSTNAME_KEY = "node.hostname"
LABEL_PREFIX = "node.labels."


@dataclass(frozen=True, slots=True)
class Constraint:
    """One ``placement.constraints`` entry, such as ``node.labels.zone==b``.

    ``key`` is ``node.hostname`` or ``node.labels.K``; ``op`` is ``==`` or ``!=``.
    """

    key: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node as the scheduler sees it in one snapshot.

    ``service_counts`` maps a service key ``app/service`` to the number of that
    service's tasks already on the node.
    """

    name: str
    capacity: Resources
    allocated: Resources = ZERO
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True
    drained: bool = False
    used_ports: frozenset[int] = frozenset()
    service_counts: Mapping[str, int] = field(default_factory=dict)
    down_since_ms: int = 0
    architecture: str = ""  # "amd64", "arm64", ...; "" when the node did not say

    @property
    def free(self) -> Resources:
        """Capacity not yet allocated (may be negative if the node is over-committed)."""
        return self.capacity - self.allocated


@dataclass(frozen=True, slots=True)
class BoundVolume:
    """A node-local volume a task mounts, and the node that holds its data: once a task
    ran with the volume there, its tasks go to that node and nowhere else."""

    name: str
    node: str


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One task waiting for a node.

    Replicas of one service normally share everything but ``task_id``; ``place`` relies
    on that to place them as a group.  ``spread_by`` holds label keys from
    ``placement.preferences`` (for example ``node.labels.zone``): replicas are spread
    evenly over the values of those labels, as a preference, never as a filter.
    ``volumes`` are the node-local volumes it mounts that are bound to a node.
    """

    task_id: str
    service: str
    demand: Resources
    ports: frozenset[int] = frozenset()
    constraints: tuple[Constraint, ...] = ()
    strategy: Strategy = Strategy.BINPACK
    max_per_node: int | None = None
    spread_by: tuple[str, ...] = ()
    volumes: tuple[BoundVolume, ...] = ()
    platform: str = ""  # the image's platform, "linux/amd64"; "" any node


@dataclass(frozen=True, slots=True)
class Placement:
    """Task ``task_id`` goes to node ``node``."""

    task_id: str
    node: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The scheduler's answer: where tasks go, and why the others could not go anywhere.

    ``placements`` follow the order of the tasks given to ``place``; ``unplaced`` maps
    a task id to a human-readable reason.
    """

    placements: tuple[Placement, ...]
    unplaced: Mapping[str, str]
