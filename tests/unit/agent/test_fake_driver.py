"""agent/runtime/fake.py: the in-memory runtime that unit tests and hollow nodes use."""

from __future__ import annotations

import pytest

from dockyard.agent.containers import container_name
from dockyard.agent.runtime.driver import ContainerState, CreateRequest, DriverError, Health
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.v1 import objects_pb2, specs_pb2


class Clock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


def request(tid: str, node: str = "n1", image: str = "busybox") -> CreateRequest:
    t = objects_pb2.Task(app="shop", service="web", slot=1, spec_hash="h",
                         spec=specs_pb2.ServiceSpec(name="web", image=image))
    t.meta.id = tid
    return CreateRequest(task=t, node=node)


def test_create_is_idempotent_by_name_and_ids_differ_across_nodes() -> None:
    a, b = FakeDriver(), FakeDriver()
    first = a.create(request("t1"))
    assert a.create(request("t1")) == first
    assert b.create(request("t2", node="n2")) != first
    assert len(first) == 64
    assert a.containers[first].name == container_name(request("t1").task)


def test_missing_image_fails_like_a_pull() -> None:
    d = FakeDriver(images={"busybox"})
    with pytest.raises(DriverError, match="cannot pull nginx"):
        d.create(request("t1", image="nginx"))


def test_start_delay_on_the_injected_clock_and_a_timer_for_the_change() -> None:
    clock = Clock()
    timers: list[float] = []
    d = FakeDriver(clock=clock, start_delay_s=1.5,
                   schedule=lambda delay, _fire: timers.append(delay))
    seen: list[str] = []
    d.watch(seen.append)
    cid = d.create(request("t1"))
    d.start(cid)
    info = d.inspect(cid)
    assert info is not None and info.state is ContainerState.CREATED
    assert timers == [1.5]
    clock.now += 1.5
    info = d.inspect(cid)
    assert info is not None and info.state is ContainerState.RUNNING
    assert info.started_ms == int(51.5 * 1000)
    assert seen == [cid]


def test_exit_stop_and_remove_are_seen_by_watchers_until_they_close() -> None:
    d = FakeDriver()
    seen: list[str] = []
    w = d.watch(seen.append)
    cid = d.create(request("t1"))
    d.start(cid)
    d.exit(cid, 3)
    info = d.inspect(cid)
    assert info is not None and (info.state, info.exit_code) == (ContainerState.EXITED, 3)
    w.close()
    d.remove(cid)
    assert seen == [cid, cid]
    assert d.inspect(cid) is None


def test_owned_lists_only_this_nodes_containers_by_labels() -> None:
    d = FakeDriver()
    d.create(request("t1", node="n1"))
    d.create(request("t2", node="n2"))
    assert set(d.owned("n1")) == {"t1"}


def test_injected_failures_hit_the_next_calls_only() -> None:
    d = FakeDriver()
    cid = d.create(request("t1"))
    d.fail_next("start", "cannot start container: boom", times=2)
    for _ in range(2):
        with pytest.raises(DriverError, match="boom"):
            d.start(cid)
    d.start(cid)
    assert [c.id for c in d.running()] == [cid]


def test_exec_logs_health_and_describe() -> None:
    d = FakeDriver(cpus=2.0, memory_bytes=1024)
    cid = d.create(request("t1"))
    with pytest.raises(DriverError, match="not running"):
        d.exec(cid, ["true"])
    d.start(cid)
    assert d.exec(cid, ["echo", "hi"]).exit_code == 0
    d.containers[cid].output = [b"a\n", b"b\n", b"c\n"]
    assert list(d.logs(cid, follow=False, tail=2)) == [b"b\n", b"c\n"]
    assert list(d.logs(cid, follow=False, tail=-1)) == [b"a\n", b"b\n", b"c\n"]
    d.set_health(cid, Health.HEALTHY)
    info = d.inspect(cid)
    assert info is not None and info.health is Health.HEALTHY
    rt = d.describe()
    assert (rt.name, rt.cpus, rt.memory_bytes) == ("fake", 2.0, 1024)
