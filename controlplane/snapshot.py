"""Stored objects to the scheduler's input. Pure functions: no I/O.

The scheduler knows nothing of protobuf or etcd; this module is the translation between
the wire objects the control plane keeps and the scheduler's own immutable model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from dockyard.common.spec.ports import node_ports
from dockyard.scheduler import (
    BoundVolume,
    Constraint,
    NodeInfo,
    Resources,
    Strategy,
    TaskRequest,
    parse_constraint,
)
from dockyard.v1 import objects_pb2, specs_pb2


def demand_of(spec: specs_pb2.ServiceSpec) -> Resources:
    return Resources(
        cpu_millis=int(spec.reservations.cpu_millis),
        memory_bytes=int(spec.reservations.memory_bytes),
    )


def host_ports(spec: specs_pb2.ServiceSpec) -> frozenset[int]:
    """The ports a task takes on its node (not the routing mesh's: those take none)."""
    return node_ports(spec)


def constraints_of(spec: specs_pb2.ServiceSpec) -> tuple[Constraint, ...]:
    return tuple(parse_constraint(c) for c in spec.placement.constraints)


def strategy_of(app_strategy: int) -> Strategy:
    return Strategy.SPREAD if app_strategy == specs_pb2.SPREAD else Strategy.BINPACK


def task_request(
    task: objects_pb2.Task, *, strategy: Strategy = Strategy.BINPACK,
    volumes: tuple[BoundVolume, ...] = (),
) -> TaskRequest:
    spec = task.spec
    return TaskRequest(
        task_id=task.meta.id,
        service=f"{task.app}/{task.service}",
        demand=demand_of(spec),
        ports=host_ports(spec),
        constraints=constraints_of(spec),
        strategy=strategy,
        max_per_node=spec.placement.max_per_node or None,
        spread_by=tuple(spec.placement.spread),
        volumes=volumes,
        platform=spec.platform,
    )


def node_infos(
    nodes: Sequence[objects_pb2.Node], holding: Iterable[objects_pb2.Task]
) -> list[NodeInfo]:
    """Each node with what `holding` (placed tasks that hold resources) already takes."""
    cpu: Counter[str] = Counter()
    mem: Counter[str] = Counter()
    ports: dict[str, set[int]] = {}
    services: dict[str, Counter[str]] = {}
    for t in holding:
        cpu[t.node] += int(t.spec.reservations.cpu_millis)
        mem[t.node] += int(t.spec.reservations.memory_bytes)
        ports.setdefault(t.node, set()).update(host_ports(t.spec))
        services.setdefault(t.node, Counter())[f"{t.app}/{t.service}"] += 1
    infos = []
    for n in nodes:
        name = n.meta.id
        cap = n.description.capacity
        infos.append(
            NodeInfo(
                name=name,
                capacity=Resources(
                    cpu_millis=int(cap.cpu_millis), memory_bytes=int(cap.memory_bytes)
                ),
                allocated=Resources(cpu_millis=cpu[name], memory_bytes=mem[name]),
                labels=dict(n.description.labels),
                ready=n.state == objects_pb2.NODE_READY,
                drained=n.availability == objects_pb2.DRAIN,
                used_ports=frozenset(ports.get(name, ())),
                service_counts=dict(services.get(name, {})),
                down_since_ms=int(n.down_since_ms),
                architecture=n.description.architecture,
            )
        )
    return infos
