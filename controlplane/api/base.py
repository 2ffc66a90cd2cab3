"""What every family of Control rpcs shares: the servicer's state, the store guard and
the one-line endings.

The Control service is one gRPC servicer made of small mixins, one per command family
(apps.py, reads.py, nodes.py, versions.py, streams.py, tokens.py, and the secrets and
configs of controlplane/files/api.py). Each mixin derives from `ControlBase`, so mypy
sees the attributes it uses; `ControlService` (control.py) sets them once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn, Protocol, TypeVar

import grpc

from dockyard.common.spec import rules
from dockyard.controlplane.api.builds import BuildBroker
from dockyard.controlplane.api.logs import LogBroker
from dockyard.controlplane.api.tasklist import TaskParts
from dockyard.controlplane.api.viewreads import Mirrored
from dockyard.controlplane.console import auth as console_auth
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.security.cluster import TokenKeeper
from dockyard.controlplane.store.etcd import EtcdStore, StoreUnavailable
from dockyard.controlplane.view import ClusterView

ATTEMPTS = 5  # compare-and-swap retries of a write before the rpc ends ABORTED
T = TypeVar("T")


class Liveness(Protocol):
    """What the Control API asks of the sessions this replica holds."""

    def last_heartbeat_ms(self, node: str) -> int: ...

    def forget(self, node: str) -> None: ...


class ControlBase:
    """The state the Control rpcs read (set by ControlService.__init__), and `_guard`."""

    _store: EtcdStore
    _on_change: Callable[[], None]  # wakes the leader's reconcile after a write
    _liveness: Liveness | None
    _tokens: TokenKeeper | None
    _logs: LogBroker | None
    _allow: frozenset[str]  # privileges the whole cluster grants (`server --allow`)
    _limits: rules.Limits
    _files: FileStore  # secrets and configs (controlplane/files)
    _console: console_auth.Access | None  # console tokens' key and the HTTP port
    _registry: str  # `server --registry`: where built images go
    _builds: BuildBroker | None
    _view: Callable[[], ClusterView] | None
    _mirror: Mirrored | None  # the reads answer from it once it has caught up
    _task_parts: TaskParts  # ListTasks answers, each task encoded once (api/tasklist.py)

    async def _guard(self, context: grpc.aio.ServicerContext, awaitable: Awaitable[T]) -> T:
        """Await a store call; etcd out of reach ends the rpc UNAVAILABLE in one line."""
        try:
            return await awaitable
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None


async def abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str
) -> NoReturn:
    """End the rpc with `code`; never returns (the type says so, unlike context.abort)."""
    await context.abort(code, message)
    raise AssertionError("unreachable")


async def refuse(context: grpc.aio.ServicerContext, problem: str | None) -> None:
    """End the rpc with INVALID_ARGUMENT and `problem` when there is one."""
    if problem:
        await abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
