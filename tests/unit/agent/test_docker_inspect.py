"""agent/runtime/docker/inspect.py: engine documents in neutral terms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dockyard.agent.runtime.docker.inspect import health_of, info_from_inspect, split_tag, state_of
from dockyard.agent.runtime.driver import ContainerState, Health


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def _attrs(**state: Any) -> dict[str, Any]:
    return {
        "Id": "f" * 64,
        "State": {"Status": "running", "ExitCode": 0, **state},
        "Config": {"Labels": {"io.dockyard.task-id": "t1", "io.dockyard.spec-hash": "h1"}},
    }


def test_running_container() -> None:
    info = info_from_inspect(_attrs(
        StartedAt="2024-03-01T12:00:05.123456789Z", FinishedAt="0001-01-01T00:00:00Z",
    ))
    assert info.id == "f" * 64
    assert (info.task_id, info.spec_hash, info.state) == ("t1", "h1", ContainerState.RUNNING)
    assert info.started_ms == _ms(2024, 3, 1, 12, 0, 5) + 123
    assert info.finished_ms == 0
    assert (info.health, info.failing_streak, info.exit_code) == (Health.NONE, 0, 0)


def test_exited_container_with_health() -> None:
    info = info_from_inspect(_attrs(
        Status="exited", ExitCode=137,
        StartedAt="2024-03-01T12:00:00Z", FinishedAt="2024-03-01T12:01:00.5Z",
        Health={"Status": "unhealthy", "FailingStreak": 5, "Log": []},
    ))
    assert (info.state, info.exit_code) == (ContainerState.EXITED, 137)
    assert info.started_ms == _ms(2024, 3, 1, 12, 0, 0)
    assert info.finished_ms == _ms(2024, 3, 1, 12, 1, 0) + 500
    assert (info.health, info.failing_streak) == (Health.UNHEALTHY, 5)


@pytest.mark.parametrize(
    "attrs",
    [
        {"Id": "x"},
        {"Id": "x", "State": {}, "Config": None},
        {"Id": "x", "State": {"Health": None}, "Config": {"Labels": None}},
    ],
    ids=["bare", "null-config", "null-health-labels"],
)
def test_missing_parts_default(attrs: dict[str, Any]) -> None:
    info = info_from_inspect(attrs)
    assert (info.id, info.task_id, info.state, info.exit_code, info.started_ms,
            info.finished_ms, info.health, info.failing_streak, info.spec_hash) == (
        "x", "", ContainerState.UNKNOWN, 0, 0, 0, Health.NONE, 0, "")


@pytest.mark.parametrize(
    ("ts", "ms"),
    [
        ("", 0),
        ("0001-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01Z", 1000),
        ("1970-01-01T00:00:01.9Z", 1900),
        ("1970-01-01T00:00:01.09Z", 1090),
        ("1970-01-01T00:00:01.000999999Z", 1000),
    ],
)
def test_timestamps(ts: str, ms: int) -> None:
    assert info_from_inspect(_attrs(StartedAt=ts)).started_ms == ms


@pytest.mark.parametrize(
    ("image", "repo", "tag"),
    [
        ("nginx", "nginx", "latest"),
        ("nginx:1.25", "nginx", "1.25"),
        ("library/nginx:1.25-alpine", "library/nginx", "1.25-alpine"),
        ("registry:5000/web", "registry:5000/web", "latest"),
        ("registry:5000/web:1.2", "registry:5000/web", "1.2"),
        ("registry:5000/team/web:v2", "registry:5000/team/web", "v2"),
        ("localhost:5000/web", "localhost:5000/web", "latest"),
        ("web@sha256:" + "a" * 64, "web", "sha256:" + "a" * 64),
        ("registry:5000/web@sha256:" + "b" * 64, "registry:5000/web", "sha256:" + "b" * 64),
    ],
)
def test_split_tag(image: str, repo: str, tag: str) -> None:
    assert split_tag(image) == (repo, tag)


@pytest.mark.parametrize(
    ("net", "address"),
    [
        (None, ""),
        ({"IPAddress": "172.17.0.5"}, "172.17.0.5"),
        ({"IPAddress": "", "Networks": {"shop": {"IPAddress": "10.1.0.7"}}}, "10.1.0.7"),
        ({"IPAddress": "", "Networks": {"a": {"IPAddress": ""}}}, ""),
    ],
    ids=["none", "bridge", "user-network", "no-address"],
)
def test_address(net: dict[str, Any] | None, address: str) -> None:
    attrs = _attrs()
    attrs["NetworkSettings"] = net
    assert info_from_inspect(attrs).address == address


@pytest.mark.parametrize(
    ("status", "state"),
    [("created", ContainerState.CREATED), ("running", ContainerState.RUNNING),
     ("paused", ContainerState.PAUSED), ("restarting", ContainerState.RESTARTING),
     ("exited", ContainerState.EXITED), ("dead", ContainerState.DEAD),
     ("removing", ContainerState.REMOVING), ("", ContainerState.UNKNOWN),
     ("bogus", ContainerState.UNKNOWN)],
)
def test_engine_status_words_become_neutral_states(status: str, state: ContainerState) -> None:
    assert state_of(status) is state


def test_unknown_health_words_mean_no_health_check() -> None:
    assert health_of("weird") is Health.NONE
    assert health_of("") is Health.NONE
    assert health_of("healthy") is Health.HEALTHY
