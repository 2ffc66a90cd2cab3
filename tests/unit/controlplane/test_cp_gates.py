"""controlplane/reconcile/gates.py: observe, condition_met and gate."""

from __future__ import annotations

import pytest

from dockyard.controlplane.reconcile.gates import ServiceHealth, condition_met, gate, observe
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import dep, spec, status

RUN = objects_pb2.RUNNING
OK = objects_pb2.HEALTH_HEALTHY
BAD = objects_pb2.HEALTH_UNHEALTHY
STARTING = objects_pb2.HEALTH_STARTING
STARTED = specs_pb2.SERVICE_STARTED
HEALTHY = specs_pb2.SERVICE_HEALTHY
DONE = specs_pb2.SERVICE_COMPLETED_SUCCESSFULLY


def health(replicas: int = 1, *, running: int = 0, healthy: int = 0, completed: int = 0,
           failed: int = 0, unhealthy: int = 0, streak: int = 0,
           check: bool = True) -> ServiceHealth:
    return ServiceHealth(replicas=replicas, running=running, healthy=healthy,
                         completed=completed, failed=failed, unhealthy=unhealthy,
                         failing_streak=streak, has_healthcheck=check)


@pytest.mark.parametrize(
    ("check", "statuses", "running", "healthy", "has_check"),
    [
        (None, [], 0, 0, False),
        (None, [status(RUN)], 1, 1, False),  # no healthcheck: running counts as healthy
        (["CMD", "true"], [status(RUN)], 1, 0, True),
        (["CMD", "true"], [status(RUN, OK), status(RUN, STARTING)], 2, 1, True),
        (["NONE"], [status(RUN)], 1, 1, False),
        (["CMD", "true"], [status(objects_pb2.READY, OK)], 0, 0, True),  # not running
        (["CMD", "true"], [status(objects_pb2.FAILED, OK)], 0, 0, True),
    ],
    ids=["none", "no-check", "check-starting", "mixed", "test-NONE", "ready", "failed"],
)
def test_observe_running_and_healthy(
    check: list[str] | None,
    statuses: list[objects_pb2.TaskStatus],
    running: int,
    healthy: int,
    has_check: bool,
) -> None:
    h = observe(spec("db", replicas=2, healthcheck=check), statuses)
    assert (h.replicas, h.running, h.healthy, h.has_healthcheck) == (2, running, healthy,
                                                                     has_check)


def test_observe_disabled_healthcheck() -> None:
    s = spec("db", healthcheck=["CMD", "true"])
    s.healthcheck.disable = True
    h = observe(s, [status(RUN)])
    assert (h.has_healthcheck, h.healthy) == (False, 1)


def test_observe_counts_completed_failed_unhealthy_and_streak() -> None:
    sts = [
        status(objects_pb2.COMPLETE, exit_code=0),
        status(objects_pb2.COMPLETE, exit_code=0),
        status(objects_pb2.FAILED, exit_code=2),
        objects_pb2.TaskStatus(state=RUN, health=BAD, failing_streak=4),
        objects_pb2.TaskStatus(state=RUN, health=BAD, failing_streak=2),
    ]
    h = observe(spec("job", replicas=3, healthcheck=["CMD", "x"]), sts)
    assert (h.completed, h.failed, h.unhealthy, h.failing_streak) == (2, 1, 2, 4)


@pytest.mark.parametrize(
    ("condition", "h", "expected"),
    [
        (STARTED, health(1, running=1), None),
        (STARTED, health(2, running=1), "1/2 running"),
        (0, health(1, running=0), "0/1 running"),  # unspecified means started
        (0, health(1, running=1), None),
        (STARTED, health(0), "0/0 running"),  # a dependency scaled to zero never starts
        (HEALTHY, health(1, running=1, healthy=1), None),
        (HEALTHY, health(1), "0/1 healthy"),
        (HEALTHY, health(1, running=1), "0/1 healthy (health: starting)"),
        (HEALTHY, health(1, running=1, check=False), "0/1 healthy"),
        (HEALTHY, health(2, running=2, healthy=1, unhealthy=1, streak=3),
         "1/2 healthy (unhealthy, 3 checks failed)"),
        (HEALTHY, health(0), "0/0 healthy"),
        (DONE, health(1, completed=1), None),
        (DONE, health(0), None),
        (DONE, health(2, completed=1), "1/2 completed successfully"),
        (DONE, health(1, failed=1), "0/1 completed successfully, 1 failed"),
    ],
)
def test_condition_met(condition: int, h: ServiceHealth, expected: str | None) -> None:
    assert condition_met(dep("db", condition), h) == expected


@pytest.mark.parametrize(
    ("deps", "health_of", "expected"),
    [
        ([], {}, None),
        ([dep("db", HEALTHY)], {"db": health(1)}, "waiting on db: 0/1 healthy"),
        ([dep("db", HEALTHY)], {"db": health(1, running=1, healthy=1)}, None),
        ([dep("db")], {}, "waiting on db: not deployed"),
        ([dep("db", required=False)], {}, None),
        ([dep("db", required=False)], {"db": health(0)}, None),
        ([dep("db", HEALTHY), dep("cache")],
         {"db": health(1), "cache": health(2, running=1)},
         "waiting on db: 0/1 healthy; cache: 1/2 running"),
        ([dep("db", HEALTHY), dep("cache")],
         {"db": health(1, running=1, healthy=1), "cache": health(2, running=1)},
         "waiting on cache: 1/2 running"),
        ([dep("init", DONE)], {"init": health(1, completed=1)}, None),
    ],
    ids=["none", "healthy-closed", "healthy-open", "missing", "missing-optional",
         "optional-zero", "two", "one-of-two", "completed"],
)
def test_gate(deps: list[specs_pb2.Dependency], health_of: dict[str, ServiceHealth],
              expected: str | None) -> None:
    assert gate(spec("web", depends_on=deps), health_of) == expected


def test_gate_end_to_end_from_statuses() -> None:
    db = spec("db", healthcheck=["CMD", "pg_isready"])
    web = spec("web", depends_on=[dep("db", HEALTHY)])
    assert gate(web, {"db": observe(db, [])}) == "waiting on db: 0/1 healthy"
    assert gate(web, {"db": observe(db, [status(RUN, STARTING)])}) == (
        "waiting on db: 0/1 healthy (health: starting)"
    )
    assert gate(web, {"db": observe(db, [status(RUN, OK)])}) is None


@pytest.mark.parametrize(
    ("condition", "h"),
    [(DONE, health(1, failed=1)), (HEALTHY, health(1, running=1, unhealthy=1, streak=3))],
    ids=["completed-but-failed", "healthy-but-unhealthy"],
)
def test_optional_failed_dependency_does_not_block(condition: int, h: ServiceHealth) -> None:
    web = spec("web", depends_on=[dep("db", condition, required=False)])
    assert gate(web, {"db": h}) is None


@pytest.mark.parametrize("reported", [STARTING, BAD])
def test_image_healthcheck_is_respected(reported: int) -> None:
    h = observe(spec("db"), [status(RUN, reported)])
    assert h.healthy == 0
