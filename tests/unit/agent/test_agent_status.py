"""agent/status.py: a task's status from its container."""

from __future__ import annotations

import dataclasses

import pytest

from dockyard.agent.runtime.driver import ContainerInfo, ContainerState, Health
from dockyard.agent.status import status_from
from dockyard.v1 import objects_pb2

T = objects_pb2
EXITED = ContainerState.EXITED


def info(**kw) -> ContainerInfo:  # type: ignore[no-untyped-def]
    base = dict(id="c1", task_id="t1", state=ContainerState.RUNNING, exit_code=0,
                started_ms=1000, finished_ms=0, health=Health.NONE, failing_streak=0,
                spec_hash="h")
    base.update(kw)
    return ContainerInfo(**base)


@pytest.mark.parametrize(
    ("container", "message", "removed", "state", "health"),
    [
        (None, "", False, T.PREPARING, T.HEALTH_NONE),
        (None, "cannot pull x: not found", False, T.FAILED, T.HEALTH_NONE),
        (None, "", True, T.SHUTDOWN, T.HEALTH_NONE),
        (info(), "", True, T.SHUTDOWN, T.HEALTH_NONE),
        (info(state=ContainerState.CREATED), "", False, T.READY, T.HEALTH_NONE),
        (info(state=ContainerState.CREATED), "cannot start container: x", False, T.FAILED,
         T.HEALTH_NONE),
        (info(state=ContainerState.RUNNING), "", False, T.RUNNING, T.HEALTH_NONE),
        (info(state=ContainerState.RESTARTING), "", False, T.RUNNING, T.HEALTH_NONE),
        (info(state=ContainerState.PAUSED), "", False, T.RUNNING, T.HEALTH_NONE),
        (info(health=Health.STARTING), "", False, T.RUNNING, T.HEALTH_STARTING),
        (info(health=Health.HEALTHY), "", False, T.RUNNING, T.HEALTH_HEALTHY),
        (info(health=Health.UNHEALTHY), "", False, T.RUNNING, T.HEALTH_UNHEALTHY),
        (info(state=ContainerState.EXITED, exit_code=0), "", False, T.COMPLETE, T.HEALTH_NONE),
        (info(state=ContainerState.EXITED, exit_code=3), "", False, T.FAILED, T.HEALTH_NONE),
        (info(state=ContainerState.DEAD, exit_code=137), "", False, T.FAILED, T.HEALTH_NONE),
        (info(state=ContainerState.EXITED, exit_code=1, health=Health.UNHEALTHY), "", False,
         T.FAILED, T.HEALTH_UNHEALTHY),
    ],
)
def test_state_mapping(container: ContainerInfo | None, message: str, removed: bool,
                       state: int, health: int) -> None:
    st = status_from(container, previous=T.TaskStatus(), restarts=0, now_ms=5000,
                     message=message, removed=removed)
    assert (st.state, st.health) == (state, health)


def test_running_container_fields() -> None:
    st = status_from(info(health=Health.UNHEALTHY, failing_streak=4), previous=T.TaskStatus(),
                     restarts=2, now_ms=5000)
    assert (st.container_id, st.started_ms, st.failing_streak, st.restarts) == ("c1", 1000,
                                                                                 4, 2)
    assert st.timestamp_ms == 5000
    assert st.exit_code == 0 and st.finished_ms == 0


def test_exited_container_fields_and_message() -> None:
    st = status_from(info(state=ContainerState.EXITED, exit_code=2, finished_ms=9000),
                     previous=T.TaskStatus(), restarts=0, now_ms=1)
    assert (st.exit_code, st.finished_ms, st.message) == (2, 9000, "exited with code 2")
    given = status_from(info(state=ContainerState.EXITED, exit_code=2), previous=T.TaskStatus(),
                        restarts=0, now_ms=1, message="oom killed")
    assert given.message == "oom killed"
    ok = status_from(info(state=EXITED, exit_code=0), previous=T.TaskStatus(), restarts=0,
                     now_ms=1)
    assert ok.message == ""


def test_healthy_ms_is_first_time_healthy_for_the_same_container() -> None:
    first = status_from(info(health=Health.HEALTHY), previous=T.TaskStatus(), restarts=0,
                        now_ms=2000)
    assert first.healthy_ms == 2000
    again = status_from(info(health=Health.HEALTHY), previous=first, restarts=0, now_ms=9000)
    assert again.healthy_ms == 2000
    # the same container, unhealthy for a while, keeps no healthy_ms ...
    sick = status_from(info(health=Health.UNHEALTHY), previous=again, restarts=0, now_ms=9500)
    assert sick.healthy_ms == 0
    # ... so when it recovers, healthy_ms is the recovery time
    back = status_from(info(health=Health.HEALTHY), previous=sick, restarts=0, now_ms=9900)
    assert back.healthy_ms == 9900


@pytest.mark.parametrize(
    "changed",
    [{"id": "c2"}, {"started_ms": 4000}],
    ids=["new-container", "restarted-in-place"],
)
def test_healthy_ms_resets_for_another_container(changed: dict) -> None:
    first = status_from(info(health=Health.HEALTHY), previous=T.TaskStatus(), restarts=0,
                        now_ms=2000)
    other = status_from(info(health=Health.HEALTHY, **changed), previous=first, restarts=1,
                        now_ms=7000)
    assert other.healthy_ms == 7000


def test_healthy_ms_unset_unless_running_and_healthy() -> None:
    for c in (info(health=Health.STARTING), info(state=EXITED, health=Health.HEALTHY),
              info(state=ContainerState.CREATED)):
        assert status_from(c, previous=T.TaskStatus(healthy_ms=5), restarts=0,
                           now_ms=1).healthy_ms == 0


def test_timestamp_kept_when_nothing_changed() -> None:
    first = status_from(info(), previous=T.TaskStatus(), restarts=0, now_ms=1000)
    assert first.timestamp_ms == 1000
    same = status_from(info(failing_streak=1), previous=first, restarts=0, now_ms=5000)
    assert same.timestamp_ms == 1000


@pytest.mark.parametrize(
    ("now_info", "message"),
    [
        (info(health=Health.HEALTHY), ""),
        (info(id="c2"), ""),
        (info(state=ContainerState.EXITED, exit_code=1), ""),
        (info(), "something happened"),
        (info(state=ContainerState.CREATED), ""),
    ],
    ids=["health", "container", "exit", "message", "state"],
)
def test_timestamp_moves_when_something_changed(now_info: ContainerInfo,
                                                message: str) -> None:
    first = status_from(info(), previous=T.TaskStatus(), restarts=0, now_ms=1000)
    later = status_from(now_info, previous=first, restarts=0, now_ms=5000, message=message)
    assert later.timestamp_ms == 5000


def test_status_from_keeps_previous_untouched() -> None:
    prev = T.TaskStatus(state=T.RUNNING, container_id="c1", started_ms=1000, timestamp_ms=3)
    snapshot = T.TaskStatus()
    snapshot.CopyFrom(prev)
    status_from(dataclasses.replace(info(), state=EXITED, exit_code=1), previous=prev,
                restarts=0, now_ms=10)
    assert prev == snapshot
