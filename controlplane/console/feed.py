"""Live updates for the console: one etcd watch per replica, fanned out to every browser.

However many pages are open, a replica reads the stored events once and then follows
them with one watch (the same events `dockyard events` and the Watch rpc serve), and
it learns of state changes from its Mirror, which already follows etcd. Each browser
gets a `Client`: a bounded queue of events and a wake-up; a slow browser loses its
oldest events, never the server's memory. Nothing here polls etcd.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from dockyard.controlplane.events import stored_events
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.v1 import objects_pb2

RECENT = 50  # events a new page starts with
QUEUED = 200  # events kept for one browser between its reads

log = logging.getLogger(__name__)


def event_row(ev: objects_pb2.Event) -> dict[str, Any]:
    """An event as the page shows it. Pure."""
    return {"time_ms": int(ev.timestamp_ms), "kind": ev.kind, "object": ev.object,
            "app": ev.app, "message": ev.message}


class Client:
    """One open page: events not yet sent, and the state version it last got."""

    def __init__(self, recent: list[dict[str, Any]]) -> None:
        self.events: deque[dict[str, Any]] = deque(recent, maxlen=QUEUED)
        self.wake = asyncio.Event()
        self.wake.set()
        self.seen_version = -1


class Feed:
    """Fans the replica's one event watch and its mirror's changes out to the pages."""

    def __init__(self, store: EtcdStore, mirror: Mirror) -> None:
        self._store = store
        self._clients: set[Client] = set()
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._follower: asyncio.Task[None] | None = None
        self.version = 0
        mirror.subscribe(self._changed)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def _changed(self, _kinds: set[str]) -> None:
        self.version += 1
        for c in self._clients:
            c.wake.set()

    def subscribe(self) -> Client:
        """A new page's client; the watch starts with the first page."""
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow(), name="console-events")
        client = Client(list(self._recent))
        self._clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        self._clients.discard(client)

    def _publish(self, row: dict[str, Any]) -> None:
        self._recent.append(row)
        for c in self._clients:
            c.events.append(row)
            c.wake.set()

    async def _follow(self) -> None:
        """The stored events once, then the watch; on a break, again (bounded backoff)."""
        delay = 0.5
        first = True
        while True:
            try:
                stored, revision = await self._store.get_prefix(keys.EVENTS)
                rows = [event_row(e) for e in stored_events(stored)[-RECENT:]]
                self._recent.clear()
                self._recent.extend(rows)
                if first:  # the pages that opened while the events were read get them
                    first = False
                    for c in self._clients:
                        c.events.extend(rows)
                        c.wake.set()
                delay = 0.5
                async for change in self._store.watch_prefix(keys.EVENTS,
                                                             start_revision=revision + 1):
                    if change.value is not None:
                        self._publish(event_row(decode(objects_pb2.Event, change.value)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # etcd away or the watch lost: follow again
                log.warning("console events: %s; following again", str(exc).strip()
                            .splitlines()[0] if str(exc).strip() else type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
