"""The Control API the CLI calls: apply, get, list, describe, delete, scale, watch.

`ControlService` is the one gRPC servicer, composed of a mixin per command family so
that each file stays about one kind of call:

- apps.py      Apply, DeleteApp, Scale (the writes of an app's desired state)
- versions.py  History, Rollback (a rollback is an apply of a kept version)
- reads.py     GetApp, DescribeApp, List*, ClusterInfo
- nodes.py     SetAvailability (drain, activate), RemoveNode, ForgetVolume
- streams.py   Watch (events), Logs, Exec, Build
- tokens.py    JoinToken, ConsoleToken
- controlplane/files/api.py  PutFile, ListFiles, RemoveFile (secrets and configs)

base.py holds what they share (the state set here, the store guard, one-line endings).
Every request is judged before anything is read or stored (``controlplane.admission``):
a bad one ends with INVALID_ARGUMENT and one line, whatever client sent it.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.common.spec import rules
from dockyard.controlplane.api.base import Liveness
from dockyard.controlplane.api.builds import BuildBroker
from dockyard.controlplane.api.logs import LogBroker
from dockyard.controlplane.api.nodes import NodeWrites
from dockyard.controlplane.api.reads import Reads
from dockyard.controlplane.api.streams import Streams
from dockyard.controlplane.api.tasklist import TaskParts
from dockyard.controlplane.api.tokens import Tokens
from dockyard.controlplane.api.versions import VersionRpcs
from dockyard.controlplane.api.viewreads import Mirrored
from dockyard.controlplane.console import auth as console_auth
from dockyard.controlplane.files.api import FilesApi
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.security.cluster import TokenKeeper
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import control_pb2_grpc

__all__ = ["ControlService", "Liveness"]


class ControlService(VersionRpcs, Reads, NodeWrites, Streams, Tokens, FilesApi,
                     control_pb2_grpc.ControlServicer):
    """Serves the CLI. The List calls answer from the mirror once it holds every write
    committed before them (api/viewreads.py), else from etcd: either way they see it."""

    def __init__(
        self,
        store: EtcdStore,
        *,
        on_change: Callable[[], None],
        liveness: Liveness | None = None,
        tokens: TokenKeeper | None = None,
        logs: LogBroker | None = None,
        allow: frozenset[str] = frozenset(),
        limits: rules.Limits = rules.DEFAULT_LIMITS,
        files: FileStore | None = None,
        console: console_auth.Access | None = None,
        registry: str = "",
        builds: BuildBroker | None = None,
        view: Callable[[], ClusterView] | None = None,
        mirror: Mirrored | None = None,
    ) -> None:
        self._registry = registry
        self._builds = builds
        self._view = view
        self._mirror = mirror
        self._task_parts = TaskParts()
        self._files = files or FileStore(store, None)
        self._console = console
        self._allow = allow
        self._limits = limits
        self._tokens = tokens
        self._store = store
        self._on_change = on_change
        self._liveness = liveness
        self._logs = logs
