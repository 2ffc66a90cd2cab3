"""The runtime driver interface, in Dockyard's words rather than a runtime's.

The runner speaks only this: create a task's container from the task itself (with the
files delivered for it, the node's resolver and the network to attach to), start, stop,
remove, inspect into a neutral `ContainerState`, list what this node made before (by
labels), stream logs, exec, watch for changes, and describe the runtime and the node.
A runtime (Docker today, containerd next) is a room beside this one that implements
`Driver`; nothing here names a runtime's API.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.v1 import objects_pb2, specs_pb2


class DriverError(Exception):
    """A runtime failure, in one line."""


class ContainerState(enum.Enum):
    """Where a container is in its life, whatever the runtime calls it."""

    CREATED = "created"  # made, never started
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"  # the runtime itself is restarting it
    EXITED = "exited"
    DEAD = "dead"  # the runtime gave up on it (a failed removal, say)
    REMOVING = "removing"
    UNKNOWN = "unknown"

    @property
    def alive(self) -> bool:
        """Its process exists: the task counts as running."""
        return self in (ContainerState.RUNNING, ContainerState.RESTARTING, ContainerState.PAUSED)

    @property
    def ended(self) -> bool:
        """Its process has ended: an exit code is known."""
        return self in (ContainerState.EXITED, ContainerState.DEAD)


class Health(enum.Enum):
    NONE = "none"  # no health check
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One container as the runtime shows it, in neutral terms."""

    id: str
    task_id: str
    state: ContainerState
    exit_code: int = 0
    started_ms: int = 0
    finished_ms: int = 0
    health: Health = Health.NONE
    failing_streak: int = 0
    spec_hash: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """Everything a runtime needs to make one task's container.

    `files` maps `<app>/<name>` (a secret or config) to the host path it was written to;
    `resolver` and `search` are the DNS server and search domain to give the container
    ("" for the runtime's default); `network` is the network to attach to ("" for the
    runtime's default).
    """

    task: objects_pb2.Task
    node: str
    files: Mapping[str, str] = field(default_factory=dict)
    resolver: str = ""
    search: str = ""
    network: str = ""


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    output: bytes


@dataclass(frozen=True, slots=True)
class ExecSpec:
    """An interactive command to run in a container (`dockyard exec`)."""

    argv: tuple[str, ...]
    tty: bool = False
    stdin: bool = False
    rows: int = 0
    cols: int = 0
    env: tuple[str, ...] = ()
    user: str = ""
    workdir: str = ""


STDOUT, STDERR = 1, 2


class ExecSession(Protocol):
    """A running command in a container. Every call may block: `output()` is read in one
    worker thread while `write`, `close_input` and `resize` come from another."""

    def output(self) -> Iterator[tuple[int, bytes]]:
        """(STDOUT or STDERR, bytes) until the command ends."""
        ...
    def write(self, data: bytes) -> None: ...
    def close_input(self) -> None: ...
    def resize(self, rows: int, cols: int) -> None: ...
    def exit_code(self) -> int:
        """The command's exit status, once `output()` has ended."""
        ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RuntimeDescription:
    """What a runtime says about itself and the node it runs on."""

    name: str  # "docker", "fake", ...
    version: str
    cpus: float = 0.0  # 0: unknown, ask the host
    memory_bytes: int = 0
    gateway: str = ""  # where containers reach the node (its DNS server binds here)
    architecture: str = ""  # OCI words: "amd64", "arm64"; "" unknown


class LogStream(Protocol):
    """Output chunks; `close()` may be called from another thread to end it."""

    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class Watch(Protocol):
    def close(self) -> None: ...


EventHandler = Callable[[str], None]  # called with a container id, from any thread


class Driver(Protocol):
    """A container runtime, as the runner needs it.

    `blocking` says whether calls may block (then the runner calls them in worker
    threads) or return at once (an in-memory runtime, called inline).
    """

    blocking: bool

    def describe(self) -> RuntimeDescription: ...
    def owned(self, node: str) -> dict[str, ContainerInfo]:
        """This node's containers by task id, found by their labels."""
        ...
    def create(self, req: CreateRequest) -> str:
        """Make (or find, by name) the task's container, getting its image first. Its id."""
        ...
    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout_s: int) -> None: ...
    def remove(self, container_id: str) -> None: ...
    def remove_volume(self, name: str) -> bool:
        """Remove a named volume: True when it is gone (or never was), False while a
        container still uses it."""
        ...
    def inspect(self, container_id: str) -> ContainerInfo | None: ...
    def logs(self, container_id: str, *, follow: bool, tail: int) -> LogStream: ...
    def exec(self, container_id: str, argv: list[str]) -> ExecResult: ...
    def open_exec(self, container_id: str, spec: ExecSpec) -> ExecSession:
        """Start an interactive command in a running container."""
        ...
    def watch(self, on_change: EventHandler) -> Watch:
        """Call `on_change(container_id)` whenever one of Dockyard's containers changes."""
        ...
    def build(self, context: bytes, spec: specs_pb2.BuildSpec, tag: str,
              on_line: Callable[[str], None]) -> str:
        """Build an image from a context tar, push it to `tag`; its digest. Raises
        DriverError with one line (the failing step, or the registry's refusal)."""
        ...
