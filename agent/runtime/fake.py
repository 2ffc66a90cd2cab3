"""An in-memory container runtime: deterministic, with injectable failures and a clock.

It serves two purposes. Unit tests drive the real runner against it and read back the
calls it received. Hollow nodes (the scale benchmark, `dockyard dev-cluster up
--hollow`) run hundreds of real agents in one process on it: a container "runs" as soon
as it is started, or once `start_delay_s` has passed on the injected clock, and costs a
few hundred bytes. Nothing here blocks (`blocking = False`), so the runner calls it
inline instead of in threads.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockyard.agent.containers import (
    NODE_LABEL,
    SPEC_HASH_LABEL,
    TASK_LABEL,
    container_name,
    labels_for,
    volume_name,
)
from dockyard.agent.runtime.driver import (
    ContainerInfo,
    ContainerState,
    CreateRequest,
    DriverError,
    EventHandler,
    ExecResult,
    ExecSpec,
    Health,
    RuntimeDescription,
)
from dockyard.agent.runtime.fake_exec import FakeExec
from dockyard.v1 import specs_pb2

Clock = Callable[[], float]
Schedule = Callable[[float, Callable[[], None]], object]  # (delay s, callback): a timer


@dataclass
class FakeContainer:
    id: str
    name: str
    labels: dict[str, str]
    image: str
    state: ContainerState = ContainerState.CREATED
    exit_code: int = 0
    started_at: float = 0.0  # when start() was called
    finished_at: float = 0.0
    health: Health = Health.NONE
    address: str = ""
    output: list[bytes] = field(default_factory=list)


class _Stream:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        self._chunks = []


class _Watch:
    def __init__(self, owner: FakeDriver, on_change: EventHandler) -> None:
        self._owner = owner
        self.on_change = on_change

    def close(self) -> None:
        self._owner.unwatch(self)


class FakeDriver:
    """Containers in a dict. `calls` records every mutating call as (verb, container id)."""

    blocking = False

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        start_delay_s: float = 0.0,
        schedule: Schedule | None = None,
        cpus: float = 4.0,
        memory_bytes: int = 8 * 1024**3,
        images: set[str] | None = None,
    ) -> None:
        self._clock = clock
        self.start_delay_s = start_delay_s
        self._schedule = schedule
        self._cpus = cpus
        self._memory = memory_bytes
        self._images = images  # None: every image exists
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: dict[str, set[str]] = {}  # volume name -> containers mounting it
        self.calls: list[tuple[str, str]] = []
        self._failures: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._watches: list[_Watch] = []
        self._lock = threading.Lock()

    # -- what tests inject -------------------------------------------------------------

    def fail_next(self, verb: str, message: str, *, times: int = 1) -> None:
        """The next `times` calls of `verb` (create, start, stop, remove, exec) fail."""
        self._failures.setdefault(verb, []).extend([message] * times)

    def exit(self, container_id: str, code: int) -> None:
        """The container's process ends with `code`, as a crash or a finished job would."""
        c = self.containers[container_id]
        self._settle(c)
        c.state, c.exit_code, c.finished_at = ContainerState.EXITED, code, self._clock()
        self._notify(container_id)

    def set_health(self, container_id: str, health: Health) -> None:
        self.containers[container_id].health = health
        self._notify(container_id)

    def running(self) -> list[FakeContainer]:
        for c in self.containers.values():
            self._settle(c)
        return [c for c in self.containers.values() if c.state is ContainerState.RUNNING]

    # -- the Driver interface -----------------------------------------------------------

    def describe(self) -> RuntimeDescription:
        return RuntimeDescription(name="fake", version="1", cpus=self._cpus,
                                  memory_bytes=self._memory, gateway="")

    def owned(self, node: str) -> dict[str, ContainerInfo]:
        out = {}
        for c in self.containers.values():
            if c.labels.get(NODE_LABEL) == node and c.labels.get(TASK_LABEL):
                out[c.labels[TASK_LABEL]] = self._info(c)
        return out

    def create(self, req: CreateRequest) -> str:
        self._maybe_fail("create")
        name = container_name(req.task)
        for c in self.containers.values():
            if c.name == name:
                return c.id
        image = req.task.spec.image
        if self._images is not None and image not in self._images:
            raise DriverError(f"cannot pull {image}: not found")
        # Unique across nodes (names carry the task id), deterministic, and as long as an
        # engine's, so nothing downstream can tell them apart by shape.
        cid = hashlib.sha256(f"{name}/{next(self._ids)}".encode()).hexdigest()
        self.containers[cid] = FakeContainer(
            id=cid, name=name, labels=labels_for(req.task, req.node), image=image)
        for spec in req.task.volumes:
            self.volumes.setdefault(volume_name(req.task, spec.name), set()).add(cid)
        self.calls.append(("create", cid))
        return cid

    def start(self, container_id: str) -> None:
        self._maybe_fail("start")
        c = self._get(container_id, "start")
        self.calls.append(("start", container_id))
        c.started_at, c.exit_code, c.finished_at = self._clock(), 0, 0.0
        if self.start_delay_s > 0:
            c.state = ContainerState.CREATED  # until the delay has passed: see _settle
            if self._schedule is not None:
                self._schedule(self.start_delay_s, lambda: self._notify(container_id))
        else:
            c.state = ContainerState.RUNNING
        self._notify(container_id)

    def stop(self, container_id: str, timeout_s: int) -> None:
        self._maybe_fail("stop")
        c = self.containers.get(container_id)
        if c is None:
            return
        self.calls.append(("stop", container_id))
        self._settle(c)
        if c.state.alive:
            c.state, c.exit_code, c.finished_at = ContainerState.EXITED, 137, self._clock()
            self._notify(container_id)

    def remove(self, container_id: str) -> None:
        self._maybe_fail("remove")
        if self.containers.pop(container_id, None) is not None:
            self.calls.append(("remove", container_id))
            for users in self.volumes.values():
                users.discard(container_id)
            self._notify(container_id)

    def remove_volume(self, name: str) -> bool:
        if self.volumes.get(name):
            return False  # in use
        if self.volumes.pop(name, None) is not None:
            self.calls.append(("remove-volume", name))
        return True

    def inspect(self, container_id: str) -> ContainerInfo | None:
        c = self.containers.get(container_id)
        return self._info(c) if c is not None else None

    def logs(self, container_id: str, *, follow: bool, tail: int) -> _Stream:
        c = self._get(container_id, "read output of")
        chunks = c.output if tail < 0 else c.output[-tail:] if tail else []
        return _Stream(chunks)

    def exec(self, container_id: str, argv: list[str]) -> ExecResult:
        self._maybe_fail("exec")
        c = self._get(container_id, "exec in")
        if c.state is not ContainerState.RUNNING:
            raise DriverError(f"cannot exec in container: {container_id} is not running")
        self.calls.append(("exec", container_id))
        return ExecResult(exit_code=0, output=" ".join(argv).encode())

    def open_exec(self, container_id: str, spec: ExecSpec) -> FakeExec:
        self._maybe_fail("exec")
        c = self._get(container_id, "exec in")
        if c.state is not ContainerState.RUNNING:
            raise DriverError(f"cannot exec in container: {container_id} is not running")
        if not spec.argv:
            raise DriverError("cannot exec in container: no command")
        self.calls.append(("open_exec", container_id))
        return FakeExec(spec)

    def build(self, context: bytes, spec: specs_pb2.BuildSpec, tag: str,
              on_line: Callable[[str], None]) -> str:
        raise DriverError("this node's runtime (in memory) cannot build images")

    def watch(self, on_change: EventHandler) -> _Watch:
        w = _Watch(self, on_change)
        with self._lock:
            self._watches.append(w)
        return w

    def unwatch(self, w: _Watch) -> None:
        with self._lock:
            if w in self._watches:
                self._watches.remove(w)

    # -- inside -------------------------------------------------------------------------

    def _maybe_fail(self, verb: str) -> None:
        pending = self._failures.get(verb)
        if pending:
            raise DriverError(pending.pop(0))

    def _get(self, container_id: str, doing: str) -> FakeContainer:
        c = self.containers.get(container_id)
        if c is None:
            raise DriverError(f"cannot {doing} container: no such container {container_id}")
        return c

    def _settle(self, c: FakeContainer) -> None:
        """A started container whose delay has passed on the clock is running."""
        due = c.started_at + self.start_delay_s
        if c.state is ContainerState.CREATED and c.started_at and self._clock() >= due:
            c.state = ContainerState.RUNNING

    def _info(self, c: FakeContainer) -> ContainerInfo:
        self._settle(c)
        started = c.started_at + self.start_delay_s if c.started_at else 0.0
        running_or_done = c.state is not ContainerState.CREATED
        return ContainerInfo(
            id=c.id, task_id=c.labels.get(TASK_LABEL, ""), state=c.state,
            exit_code=c.exit_code,
            started_ms=int(started * 1000) if running_or_done else 0,
            finished_ms=int(c.finished_at * 1000), health=c.health,
            spec_hash=c.labels.get(SPEC_HASH_LABEL, ""), address=c.address)

    def _notify(self, container_id: str) -> None:
        with self._lock:
            watches = list(self._watches)
        for w in watches:
            w.on_change(container_id)

