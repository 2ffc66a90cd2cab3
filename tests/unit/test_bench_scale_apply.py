"""deploy/bench/scale_apply.py: the phases of one big apply, from the watch's stamps."""

from __future__ import annotations

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.deploy.bench.scale_apply import (
    APP,
    Stamps,
    _stamp,
    phases,
    quantiles,
    reached,
    timeline,
)
from dockyard.v1 import objects_pb2


def test_reached_is_when_a_share_of_the_wanted_count_was_seen() -> None:
    times = [10.4, 10.1, 10.2, 10.3]
    assert reached(times, 10.0, 4, 0.5) == 0.2
    assert reached(times, 10.0, 4, 1.0) == 0.4
    assert reached(times, 10.0, 5, 1.0) is None  # not all five seen


def test_quantiles_and_timeline() -> None:
    assert quantiles([]) == []
    assert quantiles([float(i) for i in range(10)]) == [5.0, 9.0, 9.0]
    stamps = Stamps(created={"a": 0.1, "b": 0.6}, running={"a": 1.2})
    assert timeline(stamps, 0.0) == [(1, 0), (1, 0), (0, 1)]


def test_the_watch_stamps_creates_statuses_and_the_services_count() -> None:
    stamps = Stamps()
    task = objects_pb2.Task(app=APP, service="sleeper", node="n1")
    _stamp(stamps, keys.task_key(APP, "t1"), encode(task), 5, 1.0)
    _stamp(stamps, keys.task_key(APP, "t1"), encode(task), 6, 1.5)  # an update
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, started_ms=1_200)
    _stamp(stamps, keys.status_key(APP, "t1"), encode(running), 7, 2.0)
    svc = objects_pb2.Service(app=APP)
    svc.status.running = 1
    _stamp(stamps, keys.service_key(APP, "sleeper"), encode(svc), 8, 2.5)
    _stamp(stamps, keys.task_key("other", "t9"), encode(task), 9, 3.0)  # not our app
    assert (stamps.created, stamps.placed, stamps.running) == (
        {"t1": 1.0}, {"t1": 1.0}, {"t1": 2.0})
    assert stamps.started == {"t1": 1.2}
    assert {k: len(v) for k, v in stamps.revisions.items()} == {
        "task create": 1, "task update": 1, "status": 1, "service": 1}
    got = phases(stamps, 0.0, 1)
    assert got["created"] == [1.0, 1.0, 1.0]
    assert got["running (status in etcd)"] == [2.0, 2.0, 2.0]
    assert got["counted (service status)"] == 2.5
    assert got["create to container start"] == [0.2, 0.2, 0.2]
