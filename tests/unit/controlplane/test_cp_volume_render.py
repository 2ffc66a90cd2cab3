"""How volumes and their waiting tasks read in tables, JSON and `apply --wait`."""

from __future__ import annotations

from dockyard.cli.render import pending_reason, table
from dockyard.cli.volumes import volume_row
from dockyard.v1 import control_pb2, objects_pb2


def test_a_waiting_task_is_named_before_its_reason() -> None:
    t = objects_pb2.Task(service="db", slot=1, unplaced_reason=(
        "waits for its volume db-data, which lives on h2 (down since 12:01 UTC)"))
    assert pending_reason(t) == (
        "db.1 waits for its volume db-data, which lives on h2 (down since 12:01 UTC)")
    t.unplaced_reason = "0/3 nodes fit: 3 insufficient cpu (needs 8 cpus)"
    assert pending_reason(t) == "db.1 pending: 0/3 nodes fit: 3 insufficient cpu (needs 8 cpus)"


def test_a_volume_row_shows_its_node_or_driver_and_its_tasks() -> None:
    bound = control_pb2.VolumeInfo(app="amp", name="db-data", node="h2", users=[
        control_pb2.VolumeUser(task_id="a1", service="db", slot=1, node="h2",
                               state="running")])
    portable = control_pb2.VolumeInfo(app="amp", name="shared", driver="local")
    rows = [volume_row(bound), volume_row(portable)]
    assert rows[0]["tasks"] == [{"task_id": "a1", "service": "db", "slot": 1, "node": "h2",
                                 "state": "running"}]
    text = table("volumes", rows)
    assert "db.1@h2 running" in text and "driver local" in text
    assert text.splitlines()[0].split() == ["APP", "VOLUME", "WHERE", "FIRST", "USED",
                                            "TASKS", "REMOVING", "FROM"]
