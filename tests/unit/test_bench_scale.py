"""The pure parts of `make bench-scale`: process sizes, node names, apps, profile reading."""

from __future__ import annotations

import pytest
import yaml

from dockyard.client.compose import load_app
from dockyard.deploy.bench.scale import replicas_app, services_app
from dockyard.deploy.bench.scale_cluster import groups_of
from dockyard.deploy.bench.scale_hollow import node_names
from dockyard.deploy.bench.scale_probe import top_frames


@pytest.mark.parametrize(("count", "per", "sizes"), [
    (0, 10, []), (5, 10, [5]), (10, 10, [10]), (11, 10, [6, 5]), (990, 100, [99] * 10),
    (90, 10, [10] * 9),
])
def test_groups_split_evenly_and_never_exceed_the_cap(count: int, per: int,
                                                      sizes: list[int]) -> None:
    assert groups_of(count, per) == sizes


def test_node_names_continue_from_first() -> None:
    assert node_names("hollow-", 8, 3) == ["hollow-0008", "hollow-0009", "hollow-0010"]


def test_bench_apps_are_valid_compose() -> None:
    one = yaml.safe_load(replicas_app("scale", 1000))
    assert one["services"]["sleeper"]["deploy"]["replicas"] == 1000
    many = yaml.safe_load(services_app("app-001", 10))
    assert sorted(many["services"]) == sorted(f"s{i}" for i in range(10))
    for text in (replicas_app("scale", 1000), services_app("app-001", 10)):
        spec = load_app(text, read_file=lambda p: b"", default_name="x").spec
        assert spec.services


def test_top_frames_count_each_frame_once_per_stack() -> None:
    collapsed = "\n".join([
        "<module> (x.py:1);serve (s.py:2);fanout (d.py:3);fanout (d.py:3) 6",
        "<module> (x.py:1);serve (s.py:2);heartbeat (d.py:9) 4",
        "_run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80) 0",
        "garbage line",
    ])
    top = dict(top_frames(collapsed))
    assert top["serve (s.py:2)"] == 1.0
    assert top["fanout (d.py:3)"] == 0.6
    assert top["heartbeat (d.py:9)"] == 0.4
    assert "<module> (x.py:1)" not in top
    assert not [f for f in top if "asyncio/" in f]


def test_failover_detection_is_read_from_the_servers_log() -> None:
    """Kill to declared, per killed node (its first declaration), and live nodes declared
    at any time; other lines and unparsable ones are ignored."""
    import datetime

    from dockyard.deploy.bench.scale_failover import declared, detection

    def line(hms: str, node: str) -> str:
        return (f"2026-11-28 {hms} WARNING dockyard.controlplane.liveness: node {node}: no "
                f"heartbeat for 4.1s (phi 9.0; this replica 0.0s behind in reading calls); "
                f"no longer alive")

    log = [line("22:03:16,500", "hollow-0001"),  # a live node, declared before the kill
           "2026-11-28 22:03:20,000 INFO dockyard.controlplane.api.certificates: node x joined",
           line("22:03:24,000", "hollow-0100"), line("22:03:24,500", "hollow-0101"),
           line("22:03:25,000", "hollow-0102"), line("22:03:30,000", "hollow-0100"),
           "garbage"]
    events = declared(log)
    assert [n for _, n in events] == ["hollow-0001", "hollow-0100", "hollow-0101",
                                      "hollow-0102", "hollow-0100"]
    killed = datetime.datetime(2026, 11, 28, 22, 3, 20).timestamp()
    got = detection(events, killed_at=killed, dead={"hollow-0100", "hollow-0101",
                                                    "hollow-0102", "hollow-0103"})
    assert got == {"dead_declared": 3, "first_s": 4.0, "median_s": 4.5, "last_s": 5.0,
                   "live_declared": 1, "live_declared_nodes": ["hollow-0001"]}


def test_a_forked_group_names_its_nodes_and_its_log() -> None:
    from dockyard.deploy.bench.scale_hollow import parse_group

    assert parse_group("100:99:/tmp/x:y/hollow-1.log") == (100, 99, "/tmp/x:y/hollow-1.log")
    for bad in ("1:0:/tmp/l", "-1:5:/tmp/l", "a:5:/tmp/l", "5:/tmp/l", "1:2:"):
        with pytest.raises(ValueError):
            parse_group(bad)


def test_the_failover_kills_nodes_past_their_probation() -> None:
    """A node that became ready when the bench's join ended, beating every period from
    then on, is judged by the node grace once the bench's wait is over; killed sooner,
    it would still be on probation (the longest grace)."""
    from dockyard.controlplane.detector import DetectorSettings, FailureDetector
    from dockyard.deploy.bench.scale_failover import probation_wait_s

    settings = DetectorSettings(period_s=1.0, grace_s=4.0, grace_max_s=10.0)
    detector = FailureDetector(settings)
    ready_at = 100.0
    detector.registered("n", ready_at)
    kill_at = ready_at + 0.5 + probation_wait_s(ready_at, ready_at + 0.5)
    assert probation_wait_s(ready_at, kill_at) == 0.0
    beat = ready_at + 1.0
    seen_on_probation = False
    while beat < kill_at:
        seen_on_probation |= detector.allowed_s("n") == settings.grace_max_s
        detector.heard("n", beat)
        beat += 1.0
    assert seen_on_probation
    assert detector.allowed_s("n") == settings.grace_s


def test_the_failover_timeline_counts_writes_by_step_and_kind() -> None:
    from dockyard.deploy.bench.scale_failover_run import timeline

    seen = [(10.31, 5, "declared"), (10.32, 5, "declared"), (10.35, 6, "taken"),
            (10.52, 7, "created")]
    assert timeline(seen, 10.0) == ["0.3 s: declared 2, taken 1 (2 txns)",
                                    "0.5 s: created 1 (1 txns)"]
