"""Mirror: the I/O that keeps a `ClusterView` current, as a Kubernetes informer does.

One paginated read of `/dockyard/` (without the events, which no reconciler reads) at one
revision, then one watch from the next revision. Any break (etcd down, a compacted
revision, a lost stream) clears `synced`, and the mirror reads everything again with a
bounded backoff. While it is not in sync, `problem` says why, and `/healthz` reports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import EtcdStore, prefix_end
from dockyard.controlplane.view import ClusterView, Touched

log = logging.getLogger(__name__)

ALL_KINDS = frozenset({"apps", "services", "tasks", "status", "nodes", "alive", "volumes",
                       "unreachable"})


class Mirror:
    """Keeps a ClusterView current and calls `on_change(kinds)` after each batch."""

    def __init__(self, store: EtcdStore) -> None:
        self.view = ClusterView()
        self._store = store
        self._listeners: list[Callable[[set[str]], None]] = []
        self._touched_listeners: list[Callable[[Touched, bool], None]] = []
        self.synced = asyncio.Event()
        self._last_error = ""
        self._flush_soon = False
        self._advanced = asyncio.Event()  # set whenever the view's revision moves on

    @property
    def problem(self) -> str | None:
        """Why the view is not in sync with etcd (one line), or None when it is."""
        if self.synced.is_set():
            return None
        if self._last_error:
            return f"mirror not in sync with etcd: {self._last_error}"
        return "mirror not in sync with etcd: still loading"

    def subscribe(self, listener: Callable[[set[str]], None]) -> None:
        """Call `listener(kinds)` after every batch of changes."""
        self._listeners.append(listener)

    def subscribe_touched(self, listener: Callable[[Touched, bool], None]) -> None:
        """Call `listener(touched, reloaded)` after every batch of changes, with what the
        batch touched; `reloaded` is True after a full load (everything may have changed),
        and listeners that keep their own indexes rebuild them then."""
        self._touched_listeners.append(listener)

    async def caught_up(self, revision: int, timeout_s: float) -> bool:
        """Wait until the view has seen `revision` (a write of our own): True when it
        has, False after `timeout_s`. A writer that decides from the view again (the
        leader's next round) waits here first, or it would not see what it just wrote."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.view.revision < revision:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            self._advanced.clear()
            try:
                await asyncio.wait_for(self._advanced.wait(), timeout=left)
            except TimeoutError:
                return self.view.revision >= revision
        return True

    def _on_change(self, touched: Touched, *, reloaded: bool = False) -> None:
        for touched_listener in self._touched_listeners:
            touched_listener(touched, reloaded)
        for listener in self._listeners:
            listener(touched.kinds)

    async def run(self) -> None:
        """Load, then follow the watch; on any break, load again (bounded backoff)."""
        delay = 0.2
        while True:
            try:
                await self._load_and_follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: reload, so the mirror stays alive
                text = str(exc).strip()
                self._last_error = text.splitlines()[0] if text else type(exc).__name__
                log.warning("mirror lost its watch: %s; reloading", self._last_error)
                if self.synced.is_set():
                    delay = 0.2  # it was in sync: start the backoff over
                self.synced.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def load(self) -> ClusterView:
        """Everything under /dockyard/ except events and app history (no round reads
        them; they sort next to each other), read in pages at one revision."""
        before, revision = await self._store.get_range(keys.ROOT, keys.EVENTS)
        after, _ = await self._store.get_range(prefix_end(keys.HISTORY), prefix_end(keys.ROOT),
                                               revision=revision)
        view = ClusterView(revision=revision)
        for e in (*before, *after):
            view.apply(e.key, e.value, e.mod_revision)
        view.revision = revision
        return view

    async def _load_and_follow(self) -> None:
        view = await self.load()
        self.view = view
        self._advanced.set()
        self._last_error = ""
        self.synced.set()
        log.info("mirror in sync at revision %d", view.revision)
        self._flush_soon = False
        self._on_change(Touched(kinds=set(ALL_KINDS)), reloaded=True)
        pending = Touched()
        async for change in self._store.watch_prefix(keys.ROOT,
                                                     start_revision=view.revision + 1):
            kind = self.view.apply(change.key, change.value, change.mod_revision, pending)
            self._advanced.set()
            if kind is not None and not self._flush_soon:
                # Let the rest of a transaction's events arrive before waking anyone.
                self._flush_soon = True
                asyncio.get_running_loop().call_soon(self._flush, pending)

    def _flush(self, pending: Touched) -> None:
        self._flush_soon = False
        if pending:
            batch = Touched()
            batch.merge(pending)
            pending.clear()
            self._on_change(batch)
