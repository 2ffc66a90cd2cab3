"""Small constructors shared by the scheduler tests, so each table row stays one line."""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.scheduler import Constraint, NodeInfo, Resources, Strategy, TaskRequest
from dockyard.scheduler.explain import GIB

CPU = 1000


def res(cpus: float, gib: float) -> Resources:
    """``res(1.5, 4)`` is 1.5 cpus and 4 GiB."""
    return Resources(cpu_millis=round(cpus * CPU), memory_bytes=round(gib * GIB))


def node(
    name: str = "n1",
    *,
    cpus: float = 16,
    gib: float = 64,
    used: tuple[float, float] = (0, 0),
    labels: Mapping[str, str] | None = None,
    ready: bool = True,
    drained: bool = False,
    ports: frozenset[int] = frozenset(),
    counts: Mapping[str, int] | None = None,
) -> NodeInfo:
    return NodeInfo(
        name=name,
        capacity=res(cpus, gib),
        allocated=res(*used),
        labels=dict(labels or {}),
        ready=ready,
        drained=drained,
        used_ports=ports,
        service_counts=dict(counts or {}),
    )


def task(
    task_id: str = "t1",
    *,
    service: str = "app/web",
    cpus: float = 1,
    gib: float = 1,
    ports: frozenset[int] = frozenset(),
    constraints: tuple[Constraint, ...] = (),
    strategy: Strategy = Strategy.BINPACK,
    max_per_node: int | None = None,
    spread_by: tuple[str, ...] = (),
) -> TaskRequest:
    return TaskRequest(
        task_id=task_id,
        service=service,
        demand=res(cpus, gib),
        ports=ports,
        constraints=constraints,
        strategy=strategy,
        max_per_node=max_per_node,
        spread_by=spread_by,
    )


def replicas(count: int, *, prefix: str = "t", **kwargs: object) -> list[TaskRequest]:
    """``count`` replicas of one service, ids ``t0``, ``t1``, ..."""
    return [task(f"{prefix}{i}", **kwargs) for i in range(count)]  # type: ignore[arg-type]
