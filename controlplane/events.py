"""Events: one line each about what happened, kept per app for `describe` and `--wait`.

`event_entry` is pure: it returns the key and bytes to put, so an event can ride in the
same transaction as the change it describes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from controlplane.store import keys
from controlplane.store.codec import decode, encode
from controlplane.store.etcd import Entry
from dockyard.v1 import objects_pb2

_seq = itertools.count()


def event_entry(
    *, app: str, kind: str, obj: str, message: str, now_ms: int
) -> tuple[str, bytes]:
    ev = objects_pb2.Event(timestamp_ms=now_ms, kind=kind, object=obj, message=message, app=app)
    return keys.event_key(app, now_ms, next(_seq) % 1_000_000), encode(ev)


def stored_events(entries: Iterable[Entry]) -> list[objects_pb2.Event]:
    """Stored events of every app in the order they happened (keys sort by app first,
    then by time). Pure."""
    pairs = sorted(((decode(objects_pb2.Event, e.value), e.key) for e in entries),
                   key=lambda p: (p[0].timestamp_ms, p[1]))
    return [ev for ev, _ in pairs]
