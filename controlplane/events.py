"""Events: one line each about what happened, kept per app for `describe` and `--wait`.

`event_entry` is pure: it returns the key and bytes to put, so an event can ride in the
same transaction as the change it describes. Events are bounded twice over, so they can
never grow the store without limit (docs/limits.md): each message is cut at
MESSAGE_BYTES when written, and the leader's periodic trim (`events_to_trim`, pure)
keeps only the newest events of each app within a count and a byte budget, then the
newest of the whole cluster within a larger budget, and drops the events of deleted apps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Set
from dataclasses import dataclass

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Entry
from dockyard.v1 import objects_pb2

MESSAGE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class EventBudget:
    """How many events, and how many bytes of them, are kept per app and per cluster."""

    per_app_count: int = 200
    per_app_bytes: int = 256 * 1024
    cluster_count: int = 5000
    cluster_bytes: int = 4 * 1024 * 1024


_seq = itertools.count()


def event_entry(
    *, app: str, kind: str, obj: str, message: str, now_ms: int
) -> tuple[str, bytes]:
    if len(message.encode()) > MESSAGE_BYTES:
        message = message.encode()[: MESSAGE_BYTES - 3].decode(errors="ignore") + "..."
    ev = objects_pb2.Event(timestamp_ms=now_ms, kind=kind, object=obj, message=message, app=app)
    return keys.event_key(app, now_ms, next(_seq) % 1_000_000), encode(ev)


def stored_events(entries: Iterable[Entry]) -> list[objects_pb2.Event]:
    """Stored events of every app in the order they happened (keys sort by app first,
    then by time). Pure."""
    pairs = sorted(((decode(objects_pb2.Event, e.value), e.key) for e in entries),
                   key=lambda p: (p[0].timestamp_ms, p[1]))
    return [ev for ev, _ in pairs]


def events_to_trim(
    stored: Iterable[tuple[str, int]], *, live_apps: Set[str], budget: EventBudget
) -> list[str]:
    """The event keys to delete, given every stored event as (key, size in bytes). Pure.

    An app's events go when the app is gone (the cluster's own events, app "_", stay);
    then each app keeps its newest within the per-app budget, and the cluster keeps the
    newest of those within the cluster budget. Keys sort by time within an app.
    """
    by_app: dict[str, list[tuple[str, int]]] = {}
    for key, size in stored:
        app = key[len(keys.EVENTS):].split("/", 1)[0]
        by_app.setdefault(app, []).append((key, size))
    doomed: list[str] = []
    survivors: list[tuple[str, str, int]] = []  # (time part of the key, key, size)
    for app, entries in by_app.items():
        entries.sort(reverse=True)  # newest first
        live = app in live_apps or app == "_"
        kept = _newest_within(entries if live else [], budget.per_app_count,
                              budget.per_app_bytes)
        doomed += [key for key, _ in entries[kept:]] if live else [k for k, _ in entries]
        survivors += [(keys.last_segment(key), key, size) for key, size in entries[:kept]]
    survivors.sort(reverse=True)  # newest first across apps
    kept = _newest_within([(k, s) for _, k, s in survivors], budget.cluster_count,
                          budget.cluster_bytes)
    doomed += [key for _, key, _ in survivors[kept:]]
    return doomed


def _newest_within(newest_first: list[tuple[str, int]], count: int, size: int) -> int:
    """How many of the leading entries fit in `count` entries and `size` bytes. Pure."""
    used = 0
    for i, (_key, n) in enumerate(newest_first):
        if i >= count or used + n > size:
            return i
        used += n
    return len(newest_first)
