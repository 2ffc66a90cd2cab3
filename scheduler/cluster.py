"""The working copy of the cluster that one ``place`` call books placements into.

Why this module exists: ``place`` must count what it has already placed in the same
batch (resources, host ports, replicas per service) so that it never double-books a
node, just as Kubernetes' Reserve step books a pod in memory before the bind.  Holding
free capacity in numpy arrays lets one vectorised pass filter every node for a whole
group of identical replicas, instead of asking each node about each task; the per-node
bookkeeping after that is a handful of integer updates.

The state is private to a single call: it is built from the immutable snapshot, mutated
while the plan is computed, then dropped.  Nothing here performs I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler import explain
from scheduler.constraints import constraint_holds, node_value
from scheduler.model import Constraint, NodeInfo, Resources, Strategy

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Shape:
    """What replicas of one group share: everything in a ``TaskRequest`` but its id."""

    service: str
    demand: Resources
    ports: frozenset[int]
    constraints: tuple[Constraint, ...]
    strategy: Strategy
    max_per_node: int | None
    spread_by: tuple[str, ...]


class ClusterState:
    """Free capacity, used ports and per-service replica counts of every node."""

    def __init__(self, *, nodes: Sequence[NodeInfo], seed: int) -> None:
        self.nodes = nodes
        self.names = [node.name for node in nodes]
        self.size = len(nodes)
        self.cap_cpu: IntArray = np.array([n.capacity.cpu_millis for n in nodes], dtype=np.int64)
        self.cap_mem: IntArray = np.array([n.capacity.memory_bytes for n in nodes], dtype=np.int64)
        self.free_cpu: IntArray = self.cap_cpu - np.array(
            [n.allocated.cpu_millis for n in nodes], dtype=np.int64
        )
        self.free_mem: IntArray = self.cap_mem - np.array(
            [n.allocated.memory_bytes for n in nodes], dtype=np.int64
        )
        self.ready: BoolArray = np.array([n.ready for n in nodes], dtype=np.bool_)
        self.drained: BoolArray = np.array([n.drained for n in nodes], dtype=np.bool_)
        self.usable: BoolArray = self.ready & ~self.drained
        # Ties between equally good nodes are broken by a permutation drawn from the
        # seed, so equal inputs and seed give equal plans and load is not skewed
        # towards the first nodes of the list.
        self.rank: IntArray = np.random.default_rng(seed).permutation(self.size).astype(np.int64)
        self.port_nodes: dict[int, set[int]] = defaultdict(set)
        existing: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, node in enumerate(nodes):
            for port in node.used_ports:
                self.port_nodes[port].add(index)
            for service, count in node.service_counts.items():
                if count:
                    existing[service].append((index, count))
        self._existing = existing
        self._service_counts: dict[str, IntArray] = {}
        self._constraint_masks: dict[Constraint, BoolArray] = {}
        self._label_values: dict[str, list[str | None]] = {}

    # -- cached per-node facts ------------------------------------------------------

    def service_counts(self, service: str) -> IntArray:
        """Replicas of ``service`` on each node, including those placed in this batch."""
        counts = self._service_counts.get(service)
        if counts is None:
            counts = np.zeros(self.size, dtype=np.int64)
            for index, count in self._existing.get(service, ()):
                counts[index] = count
            self._service_counts[service] = counts
        return counts

    def constraint_mask(self, constraint: Constraint) -> BoolArray:
        """Which nodes satisfy ``constraint`` (cached: labels do not change in a call)."""
        mask = self._constraint_masks.get(constraint)
        if mask is None:
            mask = np.fromiter(
                (constraint_holds(constraint=constraint, node=n) for n in self.nodes),
                dtype=np.bool_,
                count=self.size,
            )
            self._constraint_masks[constraint] = mask
        return mask

    def label_values(self, key: str) -> list[str | None]:
        """Each node's value for a spread key such as ``node.labels.zone``."""
        values = self._label_values.get(key)
        if values is None:
            values = [node_value(key=key, name=n.name, labels=n.labels) for n in self.nodes]
            self._label_values[key] = values
        return values

    # -- filters --------------------------------------------------------------------

    def feasible(self, shape: Shape) -> BoolArray:
        """Nodes that can take one more replica of ``shape`` right now."""
        demand = shape.demand
        mask = self.usable & (self.free_cpu >= demand.cpu_millis)
        mask &= self.free_mem >= demand.memory_bytes
        for constraint in shape.constraints:
            mask &= self.constraint_mask(constraint)
        for port in shape.ports:
            users = self.port_nodes.get(port)
            if users:
                mask[list(users)] = False
        if shape.max_per_node is not None:
            mask &= self.service_counts(shape.service) < shape.max_per_node
        return mask

    def room(self, *, node: int, shape: Shape, limit: int) -> int:
        """How many more replicas of ``shape`` fit on ``node`` (at most ``limit``).

        Assumes the node passed ``feasible`` for this shape earlier in the same group:
        only this group's own bookings can have changed it since.
        """
        demand = shape.demand
        room = limit
        if demand.cpu_millis > 0:
            room = min(room, int(self.free_cpu[node]) // demand.cpu_millis)
        if demand.memory_bytes > 0:
            room = min(room, int(self.free_mem[node]) // demand.memory_bytes)
        if shape.max_per_node is not None:
            room = min(room, shape.max_per_node - int(self.service_counts(shape.service)[node]))
        if shape.ports and room > 0:
            if any(node in self.port_nodes.get(port, ()) for port in shape.ports):
                return 0
            room = 1
        return max(room, 0)

    def book(self, *, node: int, shape: Shape, count: int) -> None:
        """Reserve ``count`` replicas of ``shape`` on ``node``."""
        self.free_cpu[node] -= shape.demand.cpu_millis * count
        self.free_mem[node] -= shape.demand.memory_bytes * count
        self.service_counts(shape.service)[node] += count
        for port in shape.ports:
            self.port_nodes[port].add(node)

    # -- explanations ---------------------------------------------------------------

    def rejection_summary(self, shape: Shape) -> str:
        """Why no node takes ``shape`` now, counted per reason (first failing filter)."""
        remaining = np.ones(self.size, dtype=np.bool_)
        counts: dict[str, int] = {}

        def charge(failing: BoolArray, reason: str) -> None:
            hit = failing & remaining
            number = int(hit.sum())
            if number:
                counts[explain.detailed(reason=reason, demand=shape.demand)] = number
                remaining[hit] = False

        charge(~self.ready, explain.NODE_DOWN)
        charge(self.drained, explain.NODE_DRAINED)
        for constraint in shape.constraints:
            charge(~self.constraint_mask(constraint), explain.failed_constraint(constraint))
        if shape.max_per_node is not None:
            charge(
                self.service_counts(shape.service) >= shape.max_per_node,
                explain.max_per_node_reached(shape.max_per_node),
            )
        for port in sorted(shape.ports):
            users = np.zeros(self.size, dtype=np.bool_)
            users[list(self.port_nodes.get(port, ()))] = True
            charge(users, explain.port_in_use(port))
        charge(self.free_cpu < shape.demand.cpu_millis, explain.INSUFFICIENT_CPU)
        charge(self.free_mem < shape.demand.memory_bytes, explain.INSUFFICIENT_MEMORY)
        return explain.summarise_rejections(
            total=self.size, fitting=int(remaining.sum()), counts=counts
        )
