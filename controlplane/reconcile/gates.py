"""Health gates: may a service's tasks start yet? Pure functions.

A service starts when each of its required dependencies meets its condition:
`service_started` (every replica running), `service_healthy` (every replica passes its
healthcheck, or runs when it has none) or `service_completed_successfully` (every
replica exited 0). The answer comes with a reason a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.v1 import objects_pb2, specs_pb2

_RUNNINGISH = {objects_pb2.RUNNING}


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """What the control plane observed of one service's live tasks."""

    replicas: int
    running: int
    healthy: int
    completed: int
    failed: int
    unhealthy: int
    failing_streak: int
    has_healthcheck: bool
    latest_start_ms: int = 0


def has_healthcheck(spec: specs_pb2.ServiceSpec) -> bool:
    hc = spec.healthcheck
    return spec.HasField("healthcheck") and not hc.disable and list(hc.test)[:1] != ["NONE"]


def observe(
    spec: specs_pb2.ServiceSpec, statuses: Sequence[objects_pb2.TaskStatus]
) -> ServiceHealth:
    has_check = has_healthcheck(spec)
    running = sum(1 for s in statuses if s.state in _RUNNINGISH)
    # Without a check in the spec, the image's own HEALTHCHECK (if any) still counts.
    ok = (objects_pb2.HEALTH_HEALTHY,) if has_check else (
        objects_pb2.HEALTH_HEALTHY, objects_pb2.HEALTH_NONE)
    healthy = sum(1 for s in statuses if s.state in _RUNNINGISH and s.health in ok)
    return ServiceHealth(
        replicas=spec.replicas,
        running=running,
        healthy=healthy,
        completed=sum(
            1 for s in statuses if s.state == objects_pb2.COMPLETE and s.exit_code == 0
        ),
        failed=sum(1 for s in statuses if s.state == objects_pb2.FAILED),
        unhealthy=sum(1 for s in statuses if s.health == objects_pb2.HEALTH_UNHEALTHY),
        failing_streak=max((s.failing_streak for s in statuses), default=0),
        has_healthcheck=has_check,
        latest_start_ms=max((s.started_ms for s in statuses), default=0),
    )


def condition_met(dep: specs_pb2.Dependency, health: ServiceHealth) -> str | None:
    """None when the dependency's condition holds; else why not, e.g. "0/1 healthy"."""
    want = health.replicas
    cond = dep.condition or specs_pb2.SERVICE_STARTED
    if cond == specs_pb2.SERVICE_COMPLETED_SUCCESSFULLY:
        if health.completed >= want:
            return None
        extra = f", {health.failed} failed" if health.failed else ""
        return f"{health.completed}/{want} completed successfully{extra}"
    if cond == specs_pb2.SERVICE_HEALTHY:
        if health.healthy >= want and want > 0:
            return None
        detail = ""
        if health.unhealthy:
            detail = f" (unhealthy, {health.failing_streak} checks failed)"
        elif health.running and health.has_healthcheck:
            detail = " (health: starting)"
        return f"{health.healthy}/{want} healthy{detail}"
    if health.running >= want and want > 0:
        return None
    return f"{health.running}/{want} running"


def gate(
    spec: specs_pb2.ServiceSpec, health_of: Mapping[str, ServiceHealth]
) -> str | None:
    """None when `spec`'s tasks may start; else "waiting on db: 0/1 healthy; ..."."""
    waits = []
    for dep in spec.depends_on:
        h = health_of.get(dep.service)
        if h is None:
            if dep.required:
                waits.append(f"{dep.service}: not deployed")
            continue
        why = condition_met(dep, h)
        if why is None:
            continue
        # An optional dependency that failed does not block; one still starting does.
        if dep.required or not (h.failed or h.unhealthy or h.replicas == 0):
            waits.append(f"{dep.service}: {why}")
    return "waiting on " + "; ".join(waits) if waits else None
