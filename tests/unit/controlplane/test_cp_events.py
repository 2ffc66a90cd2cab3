"""Events stay bounded: per app and per cluster, in count and in bytes."""

from __future__ import annotations

from dockyard.controlplane.events import MESSAGE_BYTES, EventBudget, event_entry, events_to_trim
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.v1 import objects_pb2


def _stored(app: str, n: int, size: int, start_ms: int = 0) -> list[tuple[str, int]]:
    return [(keys.event_key(app, start_ms + i, 0), size) for i in range(n)]


def test_each_app_keeps_its_newest_events_within_the_count() -> None:
    stored = _stored("web", 10, 100)
    doomed = events_to_trim(stored, live_apps={"web"},
                            budget=EventBudget(per_app_count=3))
    assert sorted(doomed) == sorted(k for k, _ in stored[:7])


def test_each_app_keeps_its_newest_events_within_the_bytes() -> None:
    stored = _stored("web", 10, 100)
    doomed = events_to_trim(stored, live_apps={"web"},
                            budget=EventBudget(per_app_bytes=450))
    assert sorted(doomed) == sorted(k for k, _ in stored[:6])


def test_events_of_deleted_apps_go_and_cluster_events_stay() -> None:
    gone, cluster = _stored("old", 3, 10), _stored("", 3, 10)
    assert sorted(events_to_trim(gone + cluster, live_apps=set(), budget=EventBudget())) \
        == sorted(k for k, _ in gone)


def test_the_cluster_keeps_its_newest_events_across_apps() -> None:
    a = _stored("a", 5, 100, start_ms=0)      # older
    b = _stored("b", 5, 100, start_ms=1000)   # newer
    budget = EventBudget(cluster_count=6, cluster_bytes=10_000)
    doomed = events_to_trim(a + b, live_apps={"a", "b"}, budget=budget)
    assert sorted(doomed) == sorted(k for k, _ in a[:4])
    budget = EventBudget(cluster_bytes=250)
    doomed = events_to_trim(a + b, live_apps={"a", "b"}, budget=budget)
    assert sorted(doomed) == sorted([k for k, _ in a] + [k for k, _ in b[:3]])


def test_a_huge_message_is_cut_when_written() -> None:
    _key, value = event_entry(app="web", kind="apply", obj="web", message="x" * 100_000,
                              now_ms=1)
    ev = decode(objects_pb2.Event, value)
    assert len(ev.message.encode()) <= MESSAGE_BYTES
    assert ev.message.endswith("...")
