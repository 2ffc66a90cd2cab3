"""`make bench-scale-failover` sorts the writes it sees after the kill into the failover's
steps (deploy/bench/scale_failover_run.py): what a reader of its output relies on."""

from __future__ import annotations

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.deploy.bench.scale_failover_run import Stamps, spread, stamp
from dockyard.v1 import objects_pb2


def task(tid: str, desired: int = objects_pb2.DESIRED_RUNNING) -> bytes:
    t = objects_pb2.Task(app="scale", service="sleeper", desired_state=desired)
    t.meta.id = tid
    return encode(t)


def test_each_write_after_the_kill_is_one_step_of_the_failover() -> None:
    s = Stamps(since=10.0)
    stamp(s, keys.alive_key("h1"), b"x", 1, 9.0)  # before the kill: not counted
    stamp(s, keys.alive_key("h1"), None, 2, 13.0)  # declared
    stamp(s, keys.node_key("h1"), encode(objects_pb2.Node(state=objects_pb2.NODE_DOWN)), 3,
          13.5)
    stamp(s, keys.node_key("h2"), encode(objects_pb2.Node(state=objects_pb2.NODE_READY)), 3,
          13.5)  # a node ready again is no step
    stamp(s, keys.task_key("scale", "old"), None, 4, 13.6)  # taken
    stamp(s, keys.task_key("scale", "new"), task("new"), 5, 13.7)  # created
    stamp(s, keys.task_key("scale", "new"), task("new"), 6, 13.8)  # the same task again
    running = encode(objects_pb2.TaskStatus(state=objects_pb2.RUNNING))
    stamp(s, keys.status_key("scale", "new"), running, 7, 14.0)  # a replacement runs
    stamp(s, keys.status_key("scale", "other"), running, 8, 14.0)  # not a replacement
    assert {k: len(v) for k, v in s.times.items()} == {
        "declared": 1, "marked down": 1, "taken": 1, "created": 1, "task update": 1,
        "running": 1}
    assert s.revisions["created"] == {5}
    assert s.new_tasks == {"new": 13.7} and list(s.started) == ["new"]


def test_spread_is_first_median_last_after_the_kill() -> None:
    assert spread([13.0, 11.0, 12.0], 10.0) == [1.0, 2.0, 3.0]
    assert spread([], 10.0) == []
