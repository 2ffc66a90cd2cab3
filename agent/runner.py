"""The runner: keeps this node's containers in line with its assignments.

Assignments arrive from the session; container changes arrive from the runtime. Either
marks a task dirty; one worker per task then inspects, asks `steps.next_action`, acts,
and reports the resulting status. The runner knows only the neutral driver interface
(`agent/runtime/driver.py`): calls of a blocking runtime (Docker) run in worker threads,
those of an in-memory one (the fake, for tests and hollow nodes) run inline.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dockyard.agent.containers import stop_timeout_s
from dockyard.agent.dnsnames import search_domain, table_from
from dockyard.agent.files import FileKeeper, MemoryFiles, owned_copies
from dockyard.agent.metrics import CONTAINER_FAILURES, CONTAINER_STARTS
from dockyard.agent.runtime.driver import (
    ContainerInfo,
    ContainerState,
    CreateRequest,
    Driver,
    DriverError,
    Watch,
)
from dockyard.agent.status import status_from
from dockyard.agent.steps import Action, Observed, backoff_s, next_action
from dockyard.common.files import mounted_keys, wanted_files
from dockyard.common.waits import wait_set
from dockyard.v1 import dispatcher_pb2, objects_pb2

if TYPE_CHECKING:  # the DNS server (dnspython) only where a node network runs one
    from dockyard.agent.dns import ServiceDNS

log = logging.getLogger("dockyard.agent")

Report = Callable[[str, objects_pb2.TaskStatus], None]
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")
_RESYNC_S = 10.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _observed(info: ContainerInfo | None) -> Observed:
    if info is None:
        return Observed()
    return Observed(exists=True, running=info.state.alive, exited=info.state.ended,
                    exit_code=info.exit_code)


class Runner:
    def __init__(
        self,
        *,
        driver: Driver,
        node: str,
        state_dir: Path,
        report: Report,
        dns: ServiceDNS | None = None,
        resolver: str = "",
        network: str = "",
        sleep: Sleep = asyncio.sleep,
        files: FileKeeper | None = None,
    ) -> None:
        """`network` is the network containers attach to ("" for the runtime's default);
        `sleep` waits out restart backoff (tests pass one that records the delays);
        `files` keeps delivered secrets and configs (agent/files.py; default in memory)."""
        self._driver = driver
        self._network = network
        self._sleep = sleep
        self._dns = dns
        self._resolver = resolver if dns is not None else ""
        self._node = node
        self._keeper = files or MemoryFiles()
        # Written by versions before secrets moved to tmpfs: plain text on the host's disk.
        shutil.rmtree(state_dir / "files", ignore_errors=True)
        self._report = report
        self.assignments: dict[str, objects_pb2.Task] = {}
        self._containers: dict[str, str] = {}  # task id -> container id
        self._by_container: dict[str, str] = {}
        self._reported: dict[str, objects_pb2.TaskStatus] = {}
        self._restarts: dict[str, int] = {}
        self._files: dict[str, str] = {}  # delivery key -> path the runtime mounts
        self._dirty: set[str] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._complete_seen = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def use_network(self, network: str, *, dns: ServiceDNS | None, resolver: str) -> None:
        """Create containers on `network`, resolving through `dns` at `resolver` (the
        node network, set up at each registration: agent/network/hooks.py)."""
        self._network = network
        if dns is not None and self._dns is not None and dns is not self._dns:
            dns.table = self._dns.table
        self._dns = dns
        self._resolver = resolver if dns is not None else ""

    async def adopt(self) -> None:
        """Find the containers this node's agent made before, without touching them."""
        owned = await self._call(self._driver.owned, self._node)
        for tid, info in owned.items():
            self._track(tid, info.id)
        log.info("re-adopted %d containers", len(owned))

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        """One driver call: in a worker thread if the runtime blocks, else inline."""
        if self._driver.blocking:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    @property
    def driver(self) -> Driver:
        return self._driver

    def container_of(self, task_id: str) -> str | None:
        return self._containers.get(task_id)

    def quiet(self) -> bool:
        """No task waits for work or is being worked on."""
        return not self._dirty and not self._workers

    def _track(self, task_id: str, container_id: str) -> None:
        self._containers[task_id] = container_id
        self._by_container[container_id] = task_id

    def resend_all(self) -> None:
        """After a new session, report every task's status again."""
        self._reported.clear()
        self._mark(set(self.assignments) | set(self._containers))

    def assign(self, msg: dispatcher_pb2.SessionMessage) -> None:
        for key, data in msg.files.items():
            self._files[key] = self._keeper.write(key, data)
        if msg.has_endpoints and self._dns is not None:
            # Aliases first: a service's own name wins over another's alias.
            rows = [(e.app, alias, list(e.addresses)) for e in msg.endpoints
                    for alias in e.aliases]
            rows += [(e.app, e.service, list(e.addresses)) for e in msg.endpoints]
            self._dns.table = table_from(rows)
        touched: set[str] = set()
        if msg.complete:
            self._complete_seen = True
            touched |= set(self.assignments) | set(self._containers)
            self.assignments = {}
        for a in msg.assignments:
            tid = a.task.meta.id
            touched.add(tid)
            if a.action == dispatcher_pb2.Assignment.REMOVE:
                self.assignments.pop(tid, None)
            else:
                self.assignments[tid] = a.task
        self._drop_unused_files()
        self._mark(touched)

    def _drop_unused_files(self) -> None:
        """Delete the secrets and configs no task assigned to this node mounts."""
        tasks = self.assignments.values()
        wanted = set(wanted_files(tasks)) | mounted_keys(tasks)
        for key in (set(self._files) | self._keeper.held()) - wanted:
            self._keeper.remove(key)
            self._files.pop(key, None)
            log.info("removed %s: no task on this node uses it", key)

    def on_engine_event(self, container_id: str) -> None:
        """Called by the runtime, from any thread, when a container changed."""
        tid = self._by_container.get(container_id)
        if tid is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._mark, {tid})

    def _mark(self, task_ids: set[str]) -> None:
        self._dirty |= task_ids
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        watch: Watch | None = None
        try:
            watch = await self._call(self._driver.watch, self.on_engine_event)
        except Exception as exc:  # no change events: the periodic resync still converges
            log.warning("cannot watch the runtime for changes: %s", exc)
        try:
            while True:
                if not await wait_set(self._wake, _RESYNC_S):
                    self._dirty |= set(self.assignments) | set(self._containers)
                self._wake.clear()
                for tid in list(self._dirty):
                    worker = self._workers.get(tid)
                    if worker is not None and not worker.done():
                        continue  # it stays dirty; picked up when the worker ends
                    self._dirty.discard(tid)
                    self._workers[tid] = asyncio.create_task(self._converge_and_repeat(tid))
        finally:
            if watch is not None:
                watch.close()

    async def _converge_and_repeat(self, tid: str) -> None:
        try:
            await self._converge(tid)
        except Exception as exc:  # never let one task stop the others
            log.exception("task %s: %s", tid, exc)
        finally:
            if self._workers.get(tid) is asyncio.current_task():
                del self._workers[tid]
            if tid in self._dirty:
                self._wake.set()

    async def _converge(self, tid: str) -> None:
        task = self.assignments.get(tid)
        if task is None and not self._complete_seen:
            return  # until the first complete set, an unknown container is left alone
        cid = self._containers.get(tid)
        info = await self._call(self._driver.inspect, cid) if cid else None
        if cid and info is None:
            self._forget_container(tid)
        desired = task.desired_state if task is not None else None
        restarts = self._restarts.get(tid, 0)
        spec = task.spec if task is not None else objects_pb2.Task().spec
        action = next_action(desired=desired, observed=_observed(info), spec=spec,
                             restarts=restarts)
        message = ""
        try:
            info = await self._act(action, tid, task, info)
        except DriverError as exc:
            message = str(exc)
            CONTAINER_FAILURES.labels(step=action.name.lower()).inc()
            log.warning("task %s: %s", tid, message)
        if task is None:
            if tid not in self._containers:  # gone for good: forget it
                self._reported.pop(tid, None)
                self._restarts.pop(tid, None)
            return
        removed = desired == objects_pb2.DESIRED_REMOVE and tid not in self._containers
        stopped = desired == objects_pb2.DESIRED_SHUTDOWN and (
            info is None or info.state is not ContainerState.RUNNING)
        prev = self._reported.get(tid, objects_pb2.TaskStatus())
        status = status_from(
            info, previous=prev, restarts=self._restarts.get(tid, 0), now_ms=_now_ms(),
            message=message, removed=removed or stopped,
        )
        if status != prev:
            self._reported[tid] = status
            self._report(tid, status)

    async def _act(
        self,
        action: Action,
        tid: str,
        task: objects_pb2.Task | None,
        info: ContainerInfo | None,
    ) -> ContainerInfo | None:
        d = self._driver
        if action == Action.NOTHING:
            return info
        if action == Action.REMOVE:
            if info is not None:
                grace = stop_timeout_s(task.spec) if task is not None else 10
                if info.state is ContainerState.RUNNING:
                    await self._call(d.stop, info.id, grace)
                await self._call(d.remove, info.id)
            self._forget_container(tid)
            return None
        assert task is not None
        if action == Action.STOP:
            assert info is not None
            await self._call(d.stop, info.id, stop_timeout_s(task.spec))
        elif action == Action.CREATE:
            preparing = objects_pb2.TaskStatus(state=objects_pb2.PREPARING, timestamp_ms=_now_ms())
            self._reported[tid] = preparing
            self._report(tid, preparing)
            owned_copies(self._keeper, self._files, task)
            req = CreateRequest(
                task=task,
                node=self._node,
                files=dict(self._files),
                resolver=self._resolver,
                search=search_domain(task.app) if self._resolver else "",
                network=self._network,
            )
            cid = await self._call(d.create, req)
            self._track(tid, cid)
            if task.desired_state == objects_pb2.DESIRED_RUNNING:
                await self._call(d.start, cid)
                CONTAINER_STARTS.inc()
            info = await self._call(d.inspect, cid)
            return info
        elif action == Action.START:
            assert info is not None
            await self._call(d.start, info.id)
            CONTAINER_STARTS.inc()
        elif action == Action.RESTART:
            assert info is not None
            n = self._restarts.get(tid, 0)
            delay = backoff_s(n, task.spec.restart_policy)
            await self._sleep(delay)
            if self.assignments.get(tid) is not task:
                return info  # reassigned meanwhile: decide again
            self._restarts[tid] = n + 1
            await self._call(d.start, info.id)
            CONTAINER_STARTS.inc()
        cid = self._containers.get(tid) or (info.id if info else "")
        return await self._call(d.inspect, cid) if cid else None

    def _forget_container(self, tid: str) -> None:
        cid = self._containers.pop(tid, None)
        if cid:
            self._by_container.pop(cid, None)
