"""The runner on the in-memory driver: converge, restart with backoff, re-adopt, stop order.

These drive the real `agent.runner.Runner` (its workers, its dirty set, its reports)
against `agent.runtime.fake.FakeDriver`, with a fake clock and a recording sleep, so
nothing here waits on wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from dockyard.agent.containers import container_name
from dockyard.agent.runner import Runner
from dockyard.agent.runtime.driver import ContainerState
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.v1 import dispatcher_pb2, objects_pb2, specs_pb2

T = objects_pb2
A = dispatcher_pb2.Assignment


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def task(tid: str, *, service: str = "web", desired: int = T.DESIRED_RUNNING,
         restart: specs_pb2.RestartPolicy | None = None) -> objects_pb2.Task:
    spec = specs_pb2.ServiceSpec(name=service, image="busybox", stop_grace_period_ms=3000)
    if restart is not None:
        spec.restart_policy.CopyFrom(restart)
    t = T.Task(app="shop", service=service, slot=1, spec=spec, desired_state=desired)
    t.meta.id = tid
    return t


def message(tasks: Iterable[objects_pb2.Task], *, complete: bool = False,
            remove: Iterable[objects_pb2.Task] = ()) -> dispatcher_pb2.SessionMessage:
    return dispatcher_pb2.SessionMessage(
        complete=complete,
        assignments=[A(action=A.UPDATE, task=t) for t in tasks]
        + [A(action=A.REMOVE, task=t) for t in remove])


class Node:
    """One runner on one fake driver, its reports, and the backoff delays it asked for."""

    def __init__(self, tmp: Path, driver: FakeDriver | None = None) -> None:
        self.clock = Clock()
        self.driver = driver or FakeDriver(clock=self.clock)
        self.reports: list[tuple[str, objects_pb2.TaskStatus]] = []
        self.delays: list[float] = []
        self.runner = Runner(driver=self.driver, node="n1", state_dir=tmp,
                             report=lambda tid, st: self.reports.append((tid, st)),
                             sleep=self._sleep)

    async def _sleep(self, s: float) -> None:
        self.delays.append(s)

    def states(self, tid: str) -> list[int]:
        return [st.state for t, st in self.reports if t == tid]

    def last(self, tid: str) -> objects_pb2.TaskStatus:
        return [st for t, st in self.reports if t == tid][-1]

    def container(self, tid: str) -> str:
        cid = self.runner.container_of(tid)
        assert cid is not None, f"no container for {tid}"
        return cid


async def settle(node: Node) -> None:
    """Let the runner's workers finish what they were given (bounded)."""
    for _ in range(500):
        await asyncio.sleep(0)
        if node.runner.quiet():
            return
    raise AssertionError("the runner did not settle")


async def running(node: Node, body: Callable[[], Awaitable[None]]) -> None:
    """Run `body` while the runner's loop runs; stop the loop afterwards."""
    loop = asyncio.create_task(node.runner.run())
    try:
        await body()
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


def test_converges_to_the_assigned_tasks(tmp_path: Path) -> None:
    node = Node(tmp_path)

    async def body() -> None:
        node.runner.assign(message([task("t1"), task("t2"), task("t3", desired=T.DESIRED_READY)],
                                   complete=True))
        await settle(node)
        assert {c.name for c in node.driver.running()} == {
            container_name(task("t1")), container_name(task("t2"))}
        assert node.states("t1") == [T.PREPARING, T.RUNNING]
        assert node.last("t1").container_id == node.container("t1")
        assert node.last("t3").state == T.READY  # created, not started
        # A new complete set without t2: its container goes, the others stay.
        node.runner.assign(message([task("t1"), task("t3")], complete=True))
        await settle(node)
        assert node.runner.container_of("t2") is None
        assert {c.name for c in node.driver.containers.values()} == {
            container_name(task("t1")), container_name(task("t3"))}

    asyncio.run(running(node, body))


def test_a_failed_create_is_reported_with_its_reason(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.driver.fail_next("create", "cannot pull busybox: not found")

    async def body() -> None:
        node.runner.assign(message([task("t1")], complete=True))
        await settle(node)
        assert node.last("t1").state == T.FAILED
        assert node.last("t1").message == "cannot pull busybox: not found"
        assert node.driver.containers == {}

    asyncio.run(running(node, body))


def test_a_slow_start_reports_ready_then_running(tmp_path: Path) -> None:
    clock = Clock()
    timers: list[Callable[[], None]] = []
    driver = FakeDriver(clock=clock, start_delay_s=2.0,
                        schedule=lambda _s, fire: timers.append(fire))
    node = Node(tmp_path, driver)

    async def body() -> None:
        node.runner.assign(message([task("t1")], complete=True))
        await settle(node)
        assert node.last("t1").state == T.READY
        clock.now += 2.0
        for fire in timers:
            fire()
        await settle(node)
        assert node.last("t1").state == T.RUNNING

    asyncio.run(running(node, body))


def test_restarts_in_place_with_doubling_backoff_until_the_policy_gives_up(
        tmp_path: Path) -> None:
    node = Node(tmp_path)
    policy = specs_pb2.RestartPolicy(condition=specs_pb2.RESTART_ON_FAILURE, delay_ms=200,
                                     max_attempts=3)

    async def body() -> None:
        node.runner.assign(message([task("t1", restart=policy)], complete=True))
        await settle(node)
        cid = node.container("t1")
        for _ in range(4):
            node.driver.exit(cid, 1)
            await settle(node)
        assert node.delays == [0.2, 0.4, 0.8]
        assert [v for v, c in node.driver.calls if c == cid].count("start") == 4
        assert node.runner.container_of("t1") == cid  # the same container, restarted
        last = node.last("t1")
        assert (last.state, last.restarts, last.exit_code) == (T.FAILED, 3, 1)
        assert last.message == "exited with code 1"

    asyncio.run(running(node, body))


def test_a_clean_exit_is_not_restarted_on_failure_policy(tmp_path: Path) -> None:
    node = Node(tmp_path)
    policy = specs_pb2.RestartPolicy(condition=specs_pb2.RESTART_ON_FAILURE)

    async def body() -> None:
        node.runner.assign(message([task("t1", restart=policy)], complete=True))
        await settle(node)
        node.driver.exit(node.container("t1"), 0)
        await settle(node)
        assert node.delays == []
        assert node.last("t1").state == T.COMPLETE

    asyncio.run(running(node, body))


def test_a_restarted_agent_re_adopts_its_containers_without_touching_them(
        tmp_path: Path) -> None:
    first = Node(tmp_path)
    tasks = [task("t1"), task("t2")]

    async def before() -> None:
        first.runner.assign(message(tasks, complete=True))
        await settle(first)

    asyncio.run(running(first, before))
    ids = {t: first.container(t) for t in ("t1", "t2")}
    calls_before = list(first.driver.calls)

    # The agent restarts: a new runner on the same runtime.
    second = Node(tmp_path, first.driver)

    async def after() -> None:
        await second.runner.adopt()
        assert {t: second.container(t) for t in ("t1", "t2")} == ids
        # Until the first complete set, nothing is touched, even unknown containers.
        second.runner.assign(message([task("t1")]))
        await settle(second)
        assert first.driver.calls == calls_before
        second.runner.assign(message([task("t1")], complete=True))
        await settle(second)
        assert second.last("t1").state == T.RUNNING
        assert second.last("t1").container_id == ids["t1"]
        # t2 was not in the complete set: stopped, then removed.
        assert first.driver.calls[len(calls_before):] == [
            ("stop", ids["t2"]), ("remove", ids["t2"])]

    asyncio.run(running(second, after))


def test_a_container_of_another_node_is_not_adopted(tmp_path: Path) -> None:
    other = Node(tmp_path)
    other.runner = Runner(driver=other.driver, node="n2", state_dir=tmp_path,
                          report=lambda *_: None)

    async def body() -> None:
        other.runner.assign(message([task("t9")], complete=True))
        await settle(other)

    asyncio.run(running(other, body))
    mine = Node(tmp_path, other.driver)
    asyncio.run(mine.runner.adopt())
    assert mine.runner.container_of("t9") is None


def test_stop_order_stop_then_remove_then_report_shutdown(tmp_path: Path) -> None:
    """The control plane removes dependents first and their dependencies only once the
    dependents report SHUTDOWN; the runner must report it only after the container is
    gone, and leave the dependency alone until its own removal arrives."""
    node = Node(tmp_path)
    web, db = task("web1", service="web"), task("db1", service="db")

    async def body() -> None:
        node.runner.assign(message([web, db], complete=True))
        await settle(node)
        web_c, db_c = node.container("web1"), node.container("db1")
        mark = len(node.driver.calls)
        node.runner.assign(message([task("web1", service="web", desired=T.DESIRED_REMOVE)]))
        await settle(node)
        assert node.driver.calls[mark:] == [("stop", web_c), ("remove", web_c)]
        assert node.last("web1").state == T.SHUTDOWN
        assert node.driver.containers[db_c].state is ContainerState.RUNNING
        node.runner.assign(message([task("db1", service="db", desired=T.DESIRED_REMOVE)]))
        await settle(node)
        assert node.driver.calls[mark:] == [("stop", web_c), ("remove", web_c),
                                            ("stop", db_c), ("remove", db_c)]
        assert node.last("db1").state == T.SHUTDOWN

    asyncio.run(running(node, body))


def test_a_failed_stop_does_not_report_shutdown(tmp_path: Path) -> None:
    node = Node(tmp_path)

    async def body() -> None:
        node.runner.assign(message([task("t1")], complete=True))
        await settle(node)
        node.driver.fail_next("stop", "cannot stop container: engine busy")
        node.runner.assign(message([task("t1", desired=T.DESIRED_REMOVE)]))
        await settle(node)
        assert node.runner.container_of("t1") is not None
        assert node.last("t1").state != T.SHUTDOWN
        assert node.last("t1").message == "cannot stop container: engine busy"

    asyncio.run(running(node, body))


def test_shutdown_stops_but_keeps_the_container(tmp_path: Path) -> None:
    node = Node(tmp_path)

    async def body() -> None:
        node.runner.assign(message([task("t1")], complete=True))
        await settle(node)
        cid = node.container("t1")
        node.runner.assign(message([task("t1", desired=T.DESIRED_SHUTDOWN)]))
        await settle(node)
        assert node.driver.containers[cid].state is ContainerState.EXITED
        assert node.last("t1").state == T.SHUTDOWN

    asyncio.run(running(node, body))


def test_a_runner_loads_no_dns_library_until_a_node_network_serves_dns() -> None:
    """The runner needs the service table's names, not the DNS server: an agent process
    without a node network (ten hollow processes at a thousand nodes) starts without
    dnspython (about a fifth of its start-up)."""
    import subprocess
    import sys

    code = ("import sys, dockyard.agent.runner, dockyard.agent.session; "
            "print(sorted(m for m in sys.modules if m == 'dns' or m.startswith('dns.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
