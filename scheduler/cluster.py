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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dockyard.scheduler import explain
from dockyard.scheduler.constraints import constraint_holds, node_value
from dockyard.scheduler.model import (
    MAX_AMOUNT,
    BoundVolume,
    Constraint,
    NodeInfo,
    Resources,
    Strategy,
)
from dockyard.scheduler.rules import CHANGING, RULES, STATIC

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _amounts(values: Iterable[int]) -> IntArray:
    return np.array([min(max(value, 0), MAX_AMOUNT) for value in values], dtype=np.int64)


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
    volumes: tuple[BoundVolume, ...] = ()
    platform: str = ""


class ClusterState:
    """Free capacity, used ports and per-service replica counts of every node."""

    def __init__(self, *, nodes: Sequence[NodeInfo], seed: int) -> None:
        self.nodes = nodes
        self.names = [node.name for node in nodes]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.size = len(nodes)
        # Out-of-range figures from a node (negative, or beyond MAX_AMOUNT) are read as
        # the nearest sane amount, so no sum below can overflow int64.
        self.cap_cpu: IntArray = _amounts(n.capacity.cpu_millis for n in nodes)
        self.cap_mem: IntArray = _amounts(n.capacity.memory_bytes for n in nodes)
        self.free_cpu: IntArray = self.cap_cpu - _amounts(n.allocated.cpu_millis for n in nodes)
        self.free_mem: IntArray = self.cap_mem - _amounts(n.allocated.memory_bytes for n in nodes)
        self.ready: BoolArray = np.array([n.ready for n in nodes], dtype=np.bool_)
        self.drained: BoolArray = np.array([n.drained for n in nodes], dtype=np.bool_)
        self.usable: BoolArray = self.ready & ~self.drained
        # Tasks on each node (every service): spread balances it, so tasks with no
        # reservations spread too.
        self.task_count: IntArray = np.array(
            [min(max(sum(n.service_counts.values()), 0), MAX_AMOUNT) for n in nodes],
            dtype=np.int64,
        )
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

    # -- the rules, run as a pipeline ---------------------------------------------

    def feasible(self, shape: Shape) -> BoolArray:
        """Nodes that can take one more replica of ``shape`` right now (every rule)."""
        mask = np.ones(self.size, dtype=np.bool_)
        for rule in RULES:
            mask &= rule.mask(self, shape)
        return mask

    def static_mask(self, shape: Shape) -> BoolArray:
        """Nodes the rules that bookings never change (availability, constraints, a
        volume's node) let take ``shape``."""
        mask = np.ones(self.size, dtype=np.bool_)
        for rule in STATIC:
            mask &= rule.mask(self, shape)
        return mask

    def room(self, *, node: int, shape: Shape, limit: int) -> int:
        """How many more replicas of ``shape`` fit on ``node`` (at most ``limit``).

        Assumes the node passed ``feasible`` for this shape earlier in the same call:
        only the rules that bookings change are asked again.
        """
        room = limit
        for rule in CHANGING:
            room = rule.room(self, shape, node, room)
            if room <= 0:
                return 0
        return room

    def book(self, *, node: int, shape: Shape, count: int) -> None:
        """Reserve ``count`` replicas of ``shape`` on ``node``."""
        self.free_cpu[node] -= shape.demand.cpu_millis * count
        self.free_mem[node] -= shape.demand.memory_bytes * count
        self.service_counts(shape.service)[node] += count
        self.task_count[node] += count
        for port in shape.ports:
            self.port_nodes[port].add(node)

    # -- explanations ---------------------------------------------------------------

    def rejection_summary(self, shape: Shape) -> str:
        """Why no node takes ``shape`` now, counted per reason (the first rule that
        refuses a node explains it), unless a rule's verdict explains it whole."""
        for rule in RULES:
            verdict = rule.verdict(self, shape)
            if verdict is not None:
                return verdict
        return self.counted_refusals(shape, within=np.ones(self.size, dtype=np.bool_))

    def counted_refusals(self, shape: Shape, *, within: BoolArray) -> str:
        """The "m/n nodes fit: ..." sentence over the nodes of ``within``."""
        remaining = within.copy()
        counts: dict[str, int] = {}
        for rule in RULES:
            for refusal in rule.refusals(self, shape):
                hit = refusal.nodes & remaining
                number = int(hit.sum())
                if number:
                    counts[refusal.wording] = counts.get(refusal.wording, 0) + number
                    remaining[hit] = False
        return explain.summarise_rejections(
            total=int(within.sum()), fitting=int(remaining.sum()), counts=counts
        )
