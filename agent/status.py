"""A task's status from its container as the runtime shows it. Pure."""

from __future__ import annotations

from dockyard.agent.runtime.driver import ContainerInfo, ContainerState, Health
from dockyard.v1 import objects_pb2

_HEALTH = {
    Health.NONE: objects_pb2.HEALTH_NONE,
    Health.STARTING: objects_pb2.HEALTH_STARTING,
    Health.HEALTHY: objects_pb2.HEALTH_HEALTHY,
    Health.UNHEALTHY: objects_pb2.HEALTH_UNHEALTHY,
}


def status_from(
    info: ContainerInfo | None,
    *,
    previous: objects_pb2.TaskStatus,
    restarts: int,
    now_ms: int,
    message: str = "",
    removed: bool = False,
) -> objects_pb2.TaskStatus:
    """The status to report. Keeps the first time a task became healthy."""
    st = objects_pb2.TaskStatus(restarts=restarts, message=message)
    if removed:
        st.state = objects_pb2.SHUTDOWN
    elif info is None:
        st.state = objects_pb2.FAILED if message else objects_pb2.PREPARING
    else:
        st.container_id = info.id
        st.address = info.address
        st.started_ms = info.started_ms
        st.health = _HEALTH[info.health]
        st.failing_streak = info.failing_streak
        if info.state.alive:
            st.state = objects_pb2.RUNNING
        elif info.state is ContainerState.CREATED:
            st.state = objects_pb2.FAILED if message else objects_pb2.READY
        else:
            st.exit_code = info.exit_code
            st.finished_ms = info.finished_ms
            st.state = objects_pb2.COMPLETE if info.exit_code == 0 else objects_pb2.FAILED
            if not st.message and info.exit_code:
                st.message = f"exited with code {info.exit_code}"
            st.health = objects_pb2.HEALTH_NONE if info.health is Health.NONE else st.health
    healthy_now = st.state == objects_pb2.RUNNING and st.health == objects_pb2.HEALTH_HEALTHY
    same_container = (previous.container_id, previous.started_ms) == (
        st.container_id, st.started_ms)
    if healthy_now:
        st.healthy_ms = previous.healthy_ms if (same_container and previous.healthy_ms) else now_ms
    st.timestamp_ms = previous.timestamp_ms if _same(previous, st) else now_ms
    return st


def _same(a: objects_pb2.TaskStatus, b: objects_pb2.TaskStatus) -> bool:
    return (a.state, a.health, a.container_id, a.exit_code, a.message) == (
        b.state, b.health, b.container_id, b.exit_code, b.message
    )
