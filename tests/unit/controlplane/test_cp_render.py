"""cli/render.py: rows, tables, sizes and dumps."""

from __future__ import annotations

import json

import pytest
import yaml

from dockyard.cli import render
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import GIB, MIB, app, node, service, spec, task

SVC = service("shop", spec("web", replicas=2))


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (1, "1B"),
        (1023, "1023B"),
        (1024, "1KiB"),
        (1536, "1.5KiB"),
        (10 * 1024, "10KiB"),
        (100 * 1024 + 512, "100KiB"),
        (MIB, "1MiB"),
        (512 * MIB, "512MiB"),
        (int(2.5 * MIB), "2.5MiB"),
        (GIB, "1GiB"),
        (int(1.5 * GIB), "1.5GiB"),
        (64 * GIB, "64GiB"),
        (2048 * GIB, "2048GiB"),
    ],
)
def test_size(n: int, text: str) -> None:
    assert render.size(n) == text


@pytest.mark.parametrize(("millis", "text"), [(0, "0"), (500, "0.5"), (1000, "1"),
                                                (1500, "1.5"), (16000, "16")])
def test_cpus(millis: int, text: str) -> None:
    assert render.cpus(millis) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "-"), (100_000, "0s ago"), (99_000, "1s ago"), (100_000 - 119_000, "119s ago"),
     (100_000 - 120_000, "2m ago"), (100_000 - 7_199_000, "119m ago"),
     (100_000 - 7_200_000, "2h ago"), (200_000, "0s ago")],
)
def test_ago(ms: int, text: str) -> None:
    assert render.ago(ms, now_ms=100_000) == text


def _task(**kw) -> objects_pb2.Task:  # type: ignore[no-untyped-def]
    t = task(SVC, 2, tid="abcdef012345", **kw)
    return t


@pytest.mark.parametrize(
    ("node_name", "state", "health", "exp_state", "exp_health"),
    [
        ("", 0, 0, "pending", "none"),
        ("n1", 0, 0, "assigned", "none"),
        ("n1", objects_pb2.RUNNING, objects_pb2.HEALTH_HEALTHY, "running", "healthy"),
        ("n1", objects_pb2.FAILED, objects_pb2.HEALTH_UNHEALTHY, "failed", "unhealthy"),
        ("n1", objects_pb2.COMPLETE, objects_pb2.HEALTH_STARTING, "complete", "starting"),
    ],
)
def test_task_row_state_and_health(node_name: str, state: int, health: int, exp_state: str,
                                   exp_health: str) -> None:
    t = _task(node=node_name)
    t.status.state = state
    t.status.health = health
    row = render.task_row(t)
    assert (row["state"], row["health"]) == (exp_state, exp_health)


def test_task_row_fields() -> None:
    t = _task(node="n1", desired=objects_pb2.DESIRED_REMOVE)
    t.status.container_id = "c" * 64
    t.status.exit_code = 3
    t.status.restarts = 2
    t.status.started_ms = 10
    t.status.healthy_ms = 20
    row = render.task_row(t)
    assert row == {
        "id": "abcdef012345", "app": "shop", "service": "web", "slot": 2, "node": "n1",
        "desired": "remove", "state": "assigned", "health": "none",
        "container_id": "c" * 64, "exit_code": 3, "restarts": 2, "started_ms": 10,
        "healthy_ms": 20, "message": "",
    }


def test_task_row_message_prefers_status_then_unplaced_reason() -> None:
    t = _task()
    t.unplaced_reason = "0/2 nodes fit"
    assert render.task_row(t)["message"] == "0/2 nodes fit"
    t.status.message = "exited with code 1"
    assert render.task_row(t)["message"] == "exited with code 1"


@pytest.mark.parametrize(
    ("desired", "text"),
    [(objects_pb2.DESIRED_READY, "ready"), (objects_pb2.DESIRED_RUNNING, "running"),
     (objects_pb2.DESIRED_SHUTDOWN, "shutdown"), (objects_pb2.DESIRED_STATE_UNSPECIFIED, "")],
)
def test_task_row_desired(desired: int, text: str) -> None:
    assert render.task_row(_task(desired=desired))["desired"] == text


def test_allocated_by_node_counts_live_placed_tasks() -> None:
    big = service("shop", spec("db", cpu=1000, mem=GIB))
    tasks = [
        task(SVC, 1, tid="a", node="n1"),
        task(big, 1, tid="b", node="n1", desired=objects_pb2.DESIRED_READY),
        task(big, 2, tid="c", node="n2", desired=objects_pb2.DESIRED_REMOVE),
        task(big, 3, tid="d"),
    ]
    assert render.allocated_by_node(tasks) == {"n1": (1100, GIB + 64 * MIB)}


def test_node_row() -> None:
    n = node("n1", cpu=2000, mem=GIB, state=objects_pb2.NODE_DOWN,
             availability=objects_pb2.DRAIN)
    n.description.address = "10.0.0.1"
    n.description.labels["zone"] = "a"
    n.message = "heartbeat lapsed"
    n.subnet = "10.214.3.0/24"
    row = render.node_row(n, (500, 256 * MIB))
    assert row == {
        "name": "n1", "state": "down", "availability": "drain", "address": "10.0.0.1",
        "subnet": "10.214.3.0/24", "cpu_millis": 2000, "memory_bytes": GIB,
        "allocated_cpu_millis": 500, "allocated_memory_bytes": 256 * MIB, "labels": {"zone": "a"},
        "last_heartbeat_ms": 0, "message": "heartbeat lapsed",
    }
    assert render.node_row(node("n2", state=0, availability=0))["state"] == ""


def test_service_row_lists_published_ports_only() -> None:
    s = spec("web", replicas=3)
    s.ports.add(container_port=80, host_port=8080)
    s.ports.add(container_port=53, host_port=5353, protocol="udp")
    s.ports.add(container_port=9000)
    svc = service("shop", s)
    svc.status.running = 2
    svc.status.healthy = 1
    svc.status.waiting_on = "waiting on db: 0/1 healthy"
    assert render.service_row(svc) == {
        "app": "shop", "service": "web", "image": "registry:5000/app:1", "replicas": 3,
        "running": 2, "healthy": 1, "waiting_on": "waiting on db: 0/1 healthy",
        "ports": ["8080:80/tcp", "5353:53/udp"], "update": "", "update_message": "",
    }


def test_app_row_sums_its_own_services() -> None:
    a = app("shop", [])
    a.spec_hash = "0123456789abcdef"
    a.meta.updated_ms = 99
    mine = [service("shop", spec("web", replicas=2)), service("shop", spec("db", replicas=1))]
    mine[0].status.running = 2
    mine[1].status.healthy = 1
    other = service("blog", spec("web", replicas=7))
    assert render.app_row(a, [*mine, other]) == {
        "name": "shop", "services": 2, "replicas": 3, "running": 2, "healthy": 1,
        "updated_ms": 99, "spec_hash": "0123456789ab",
    }


def test_table_of_apps_is_aligned_and_right_stripped() -> None:
    rows = [
        {"name": "shop", "services": 2, "replicas": 3, "running": 3, "healthy": 3},
        {"name": "a-very-long-name", "services": 10, "replicas": 0, "running": 0,
         "healthy": 0},
    ]
    assert render.table("apps", rows).splitlines() == [
        "NAME              SERVICES  REPLICAS  RUNNING  HEALTHY",
        "shop              2         3         3        3",
        "a-very-long-name  10        0         0        0",
    ]


def test_table_with_no_rows_is_the_header() -> None:
    assert render.table("services", []) == (
        "APP  SERVICE  IMAGE  REPLICAS  RUNNING  HEALTHY  WAITING ON"
    )


def test_table_of_tasks_uses_derived_cells() -> None:
    t = _task(node="n1")
    t.status.container_id = "0123456789abcdef0123"
    t.status.state = objects_pb2.RUNNING
    lines = render.table("tasks", [render.task_row(t)]).splitlines()
    assert lines[1].split() == ["abcdef012345", "shop/web.2", "n1", "running", "running",
                                "none", "0123456789ab"]


def test_table_of_nodes_uses_derived_cells() -> None:
    n = node("n1", cpu=2000, mem=GIB)
    n.description.labels["zone"] = "b"
    n.description.labels["disk"] = "ssd"
    bare = node("n2", cpu=1000, mem=512 * MIB)
    rows = [render.node_row(n, (500, 256 * MIB)), render.node_row(bare)]
    lines = render.table("nodes", rows).splitlines()
    assert lines[0].split() == ["NAME", "STATE", "AVAIL", "ADDRESS", "SUBNET", "CPUS",
                                "MEMORY", "LABELS", "HEARTBEAT"]
    assert lines[1].split() == ["n1", "ready", "active", "0.5/2", "256MiB/1GiB",
                                "disk=ssd,zone=b", "-"]
    assert lines[2].split() == ["n2", "ready", "active", "0/1", "0B/512MiB", "-", "-"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_dump_round_trips_exact_values(fmt: str) -> None:
    rows = [render.service_row(SVC), {"n": 1536, "labels": {"b": "2", "a": "1"}}]
    text = render.dump(rows, fmt)
    loaded = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert loaded == rows
    assert not text.endswith("\n")


def test_dump_sorts_keys() -> None:
    assert render.dump({"b": 1, "a": 2}, "json") == '{\n  "a": 2,\n  "b": 1\n}'
    assert render.dump({"b": 1, "a": 2}, "yaml") == "a: 2\nb: 1"


@pytest.mark.parametrize(("value", "name"), [(0, "binpack"), (specs_pb2.BINPACK, "binpack"),
                                             (specs_pb2.SPREAD, "spread")])
def test_strategy_name(value: int, name: str) -> None:
    assert render.strategy_name(value) == name


@pytest.mark.parametrize(
    ("n", "text"),
    [(int(9.97 * MIB), "10MiB"), (MIB - 1, "1MiB"), (GIB - 1, "1GiB")],
)
def test_size_near_unit_boundaries(n: int, text: str) -> None:
    assert render.size(n) == text
