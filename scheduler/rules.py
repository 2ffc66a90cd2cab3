"""The scheduling rules, one object each, run as a pipeline over every node at once.

Why this module exists: a rule such as "a host port can be used once per node" has four
faces: which nodes pass it (a numpy mask over the cluster), how many more replicas it
lets a node take, which nodes it refused and in what words.  Written in one class, the
four cannot drift apart, and a new rule is one new class in ``RULES`` (SwarmKit's
filters and Nomad's feasibility checkers are built the same way).

Order matters only for explanations: a node refused by several rules is counted
against the first, so ``RULES`` lists them from the most basic (node down) to the most
changeable (free memory).  Every rule here is a pure function of a ``ClusterState``
and a ``Shape``; none performs I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dockyard.scheduler import explain

if TYPE_CHECKING:
    from dockyard.scheduler.cluster import BoolArray, ClusterState, Shape


@dataclass(frozen=True, slots=True)
class Refusal:
    """Nodes one rule refuses for one shape, the short reason, and the summary wording.

    ``reason`` is what one node says (``"insufficient cpu"``); ``wording`` is how the
    "why is this pending?" sentence counts it (``"insufficient cpu (needs 1.5 cpus)"``).
    """

    nodes: BoolArray
    reason: str
    wording: str


class Rule(ABC):
    """One scheduling rule: its mask, its remaining room, its refusals and their words.

    ``static`` rules depend only on facts that do not change while one ``place`` call
    books replicas (readiness, labels): a node that passed them once keeps passing, so
    ``room`` skips them.
    """

    static = False

    @abstractmethod
    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        """The nodes this rule refuses for one more replica of ``shape``, per reason."""

    def mask(self, state: ClusterState, shape: Shape) -> BoolArray:
        """Nodes this rule lets take one more replica of ``shape``."""
        passing = np.ones(state.size, dtype=np.bool_)
        for refusal in self.refusals(state, shape):
            passing &= ~refusal.nodes
        return passing

    def room(self, state: ClusterState, shape: Shape, node: int, limit: int) -> int:
        """How many more replicas of ``shape`` this rule lets ``node`` take, at most
        ``limit``; only called for a node that passed ``mask`` earlier in the call."""
        del state, shape, node
        return limit

    def verdict(self, state: ClusterState, shape: Shape) -> str | None:
        """A sentence that explains on its own why ``shape`` is not placed, when this
        rule decides it (counting refusals node by node would hide the point); None
        lets the counted summary speak."""
        del state, shape
        return None


def _same(reason: str) -> tuple[str, str]:
    return reason, reason


class NodeAvailability(Rule):
    """Only ready, active nodes take tasks: down and drained nodes refuse all."""

    static = True

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        yield Refusal(~state.ready, *_same(explain.NODE_DOWN))
        yield Refusal(state.drained, *_same(explain.NODE_DRAINED))

    def mask(self, state: ClusterState, shape: Shape) -> BoolArray:
        return state.usable.copy()


class VolumeAffinity(Rule):
    """A node-local volume that has data lives on one node: a task mounting it goes to
    that node or waits for it, never to another node and an empty volume.

    Its verdict names the volume, the node and why that node takes nothing now (down
    since when, drained, gone, or full), since "2 nodes refused" would hide all that.
    """

    static = True

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        for volume in shape.volumes:
            elsewhere = np.ones(state.size, dtype=np.bool_)
            home = state.index.get(volume.node)
            if home is not None:
                elsewhere[home] = False
            yield Refusal(elsewhere, *_same(explain.volume_elsewhere(volume)))

    def mask(self, state: ClusterState, shape: Shape) -> BoolArray:
        passing = np.zeros(state.size, dtype=np.bool_) if shape.volumes else np.ones(
            state.size, dtype=np.bool_)
        homes = {volume.node for volume in shape.volumes}
        if len(homes) == 1:
            home = state.index.get(homes.pop())
            if home is not None:
                passing[home] = True
        return passing

    def verdict(self, state: ClusterState, shape: Shape) -> str | None:
        if not shape.volumes:
            return None
        homes = sorted({volume.node for volume in shape.volumes})
        if len(homes) > 1:
            return explain.volumes_apart(shape.volumes)
        names = [volume.name for volume in shape.volumes]
        home = state.index.get(homes[0])
        app = shape.service.partition("/")[0]
        if home is None:
            return explain.waits_for_volume(names, homes[0], explain.node_gone(app, names[0]))
        if not state.ready[home]:
            down = int(state.nodes[home].down_since_ms)
            return explain.waits_for_volume(names, homes[0], explain.down_since(down))
        if state.drained[home]:
            return explain.waits_for_volume(names, homes[0], explain.NODE_DRAINED)
        reasons = [
            refusal.wording
            for rule in RULES
            if rule is not self
            for refusal in rule.refusals(state, shape)
            if refusal.nodes[home]
        ]
        if not reasons:
            return None
        return explain.waits_for_volume(names, homes[0], ", ".join(reasons))


class Constraints(Rule):
    """``placement.constraints``: every one must hold on the node's labels."""

    static = True

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        for constraint in shape.constraints:
            yield Refusal(
                ~state.constraint_mask(constraint), *_same(explain.failed_constraint(constraint))
            )


def platform_problem(platform: str, architecture: str) -> str | None:
    """Why a node of ``architecture`` cannot run an image of ``platform`` ("linux/arm64",
    "linux/arm/v7"), or None. A node that did not say its architecture is not refused.
    Pure."""
    os_name, _, rest = platform.partition("/")
    wanted = rest.partition("/")[0]
    if os_name and os_name != "linux":
        return f"runs linux containers, not {os_name}"
    if wanted and architecture and wanted != architecture:
        return f"architecture is {architecture}, not {wanted}"
    return None


class Platform(Rule):
    """``platform``: the image's architecture must be the node's (docs/compose.md)."""

    static = True

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        if not shape.platform:
            return
        refused = np.array([platform_problem(shape.platform, n.architecture) is not None
                            for n in state.nodes], dtype=np.bool_)
        yield Refusal(refused, *_same(f"cannot run platform {shape.platform}"))


class MaxPerNode(Rule):
    """``placement.max_replicas_per_node``: at most that many replicas of the service."""

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        if shape.max_per_node is not None:
            full = state.service_counts(shape.service) >= shape.max_per_node
            yield Refusal(full, *_same(explain.max_per_node_reached(shape.max_per_node)))

    def room(self, state: ClusterState, shape: Shape, node: int, limit: int) -> int:
        if shape.max_per_node is None:
            return limit
        return min(limit, shape.max_per_node - int(state.service_counts(shape.service)[node]))


class HostPorts(Rule):
    """A published host port is used by one task per node, so such tasks go one per node."""

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        for port in sorted(shape.ports):
            users = np.zeros(state.size, dtype=np.bool_)
            users[list(state.port_nodes.get(port, ()))] = True
            yield Refusal(users, *_same(explain.port_in_use(port)))

    def mask(self, state: ClusterState, shape: Shape) -> BoolArray:
        passing = np.ones(state.size, dtype=np.bool_)
        for port in shape.ports:
            users = state.port_nodes.get(port)
            if users:
                passing[list(users)] = False
        return passing

    def room(self, state: ClusterState, shape: Shape, node: int, limit: int) -> int:
        if not shape.ports:
            return limit
        if any(node in state.port_nodes.get(port, ()) for port in shape.ports):
            return 0
        return min(limit, 1)


class Capacity(Rule):
    """Reservations: free cpu and free memory must cover the task's demand."""

    def refusals(self, state: ClusterState, shape: Shape) -> Iterator[Refusal]:
        demand = shape.demand
        yield Refusal(
            state.free_cpu < demand.cpu_millis,
            explain.INSUFFICIENT_CPU,
            explain.detailed(reason=explain.INSUFFICIENT_CPU, demand=demand),
        )
        yield Refusal(
            state.free_mem < demand.memory_bytes,
            explain.INSUFFICIENT_MEMORY,
            explain.detailed(reason=explain.INSUFFICIENT_MEMORY, demand=demand),
        )

    def mask(self, state: ClusterState, shape: Shape) -> BoolArray:
        demand = shape.demand
        passing: BoolArray = (state.free_cpu >= demand.cpu_millis) & (
            state.free_mem >= demand.memory_bytes
        )
        return passing

    def room(self, state: ClusterState, shape: Shape, node: int, limit: int) -> int:
        demand = shape.demand
        room = limit
        if demand.cpu_millis > 0:
            room = min(room, int(state.free_cpu[node]) // demand.cpu_millis)
        if demand.memory_bytes > 0:
            room = min(room, int(state.free_mem[node]) // demand.memory_bytes)
        return room


RULES: tuple[Rule, ...] = (
    NodeAvailability(), VolumeAffinity(), Constraints(), Platform(), MaxPerNode(), HostPorts(),
    Capacity(),
)
"""Every rule, in the order a refused node is explained."""

CHANGING: tuple[Rule, ...] = tuple(rule for rule in RULES if not rule.static)
"""The rules whose answer changes as replicas are booked: the ones ``room`` asks."""

STATIC: tuple[Rule, ...] = tuple(rule for rule in RULES if rule.static)
"""The rules whose answer never changes within one ``place`` call."""
