"""The ListTasks answer as bytes, each task's part kept: it decodes to exactly the message
the view gives (whole, or brief: only what `get tasks` shows), follows every change of a
task or its status, and forgets deleted tasks. A brief task makes the same `get tasks`
row as the whole one."""

from __future__ import annotations

import json
import random
from operator import itemgetter

from dockyard.cli import render
from dockyard.controlplane.api import tasklist, viewreads
from dockyard.controlplane.store import keys
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import control_pb2, objects_pb2
from tests.unit.controlplane.test_cp_viewreads import task, view_of


def decoded(data: bytes) -> list[objects_pb2.Task]:
    return list(control_pb2.ListTasksResponse.FromString(data).tasks)


def rich_task(rng: random.Random, app: str, tid: str) -> objects_pb2.Task:
    t = task(app, tid, node=rng.choice(["", "n1", "n2"]), cpu=rng.randint(0, 900))
    t.service = rng.choice(["web", "db"])
    t.slot = rng.randint(1, 9)
    t.spec_hash = "ab" * 32
    t.network = app
    t.unplaced_reason = rng.choice(["", "0/3 nodes fit: cpu"])
    t.spec.image = "busybox"
    t.spec.environment["K"] = "v" * rng.randint(0, 40)
    t.volumes.add(name="data")
    if rng.random() < 0.3:  # an old record with a status of its own
        t.status.state = objects_pb2.PENDING
        t.status.exit_code = 9
    return t


def rich_status(rng: random.Random) -> objects_pb2.TaskStatus:
    return objects_pb2.TaskStatus(
        state=rng.choice([objects_pb2.RUNNING, objects_pb2.TaskState.Value("FAILED"), 0]),
        health=rng.choice([objects_pb2.Health.Value("HEALTH_NONE"), 0]),
        container_id=rng.choice(["", "c" * 64]), exit_code=rng.choice([0, 1, 137]),
        message=rng.choice(["", "exit ✗"]), timestamp_ms=rng.randint(1, 10**12),
        started_ms=rng.randint(0, 10**12), healthy_ms=rng.randint(0, 10**12),
        finished_ms=5, restarts=rng.randint(0, 5), failing_streak=2, address="10.0.0.7")


def random_view(seed: int) -> ClusterView:
    rng = random.Random(seed)
    tasks = [rich_task(rng, rng.choice(["shop", "shop-b", "shopa"]), f"{i:03x}{seed}")
             for i in range(rng.randint(0, 30))]
    statuses = {(t.app, t.meta.id): rich_status(rng) for t in tasks if rng.random() < 0.7}
    return view_of(tasks, statuses)


def test_the_answer_is_the_message_the_view_gives() -> None:
    for seed in range(40):
        view = random_view(seed)
        parts = tasklist.TaskParts()
        for app in ("", "shop", "shop-b", "nothing"):
            whole = viewreads.tasks_response(view, app)
            assert decoded(parts.answer(view, app)) == list(whole.tasks)
            assert decoded(parts.answer(view, app, is_brief=True)) == [
                tasklist.brief(t) for t in whole.tasks]
            # The second answer comes from the kept parts: the same bytes.
            assert parts.answer(view, app) == parts.answer(view, app)


def test_a_brief_task_keeps_what_get_tasks_shows_and_nothing_else() -> None:
    rng = random.Random(3)
    for i in range(200):
        whole = tasklist.merged(rich_task(rng, "shop", f"t{i}"), rich_status(rng))
        short = tasklist.brief(whole)
        assert render.task_row(short) == render.task_row(whole)
        assert not short.HasField("spec") and not short.spec_hash and not short.volumes
        assert not short.network and short.meta.version == 0
        assert (short.status.timestamp_ms, short.status.address) == (0, "")
        assert short.ByteSize() < whole.ByteSize()


def test_parts_follow_changes_and_forget_deleted_tasks() -> None:
    view = view_of([task("shop", f"t{i}") for i in range(100)], {})
    parts = tasklist.TaskParts()
    parts.answer(view, is_brief=True)
    rev = 1000
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, container_id="c9")
    view.apply(keys.status_key("shop", "t5"), running.SerializeToString(), rev)
    moved = task("shop", "t7", node="n2")
    view.apply(keys.task_key("shop", "t7"), moved.SerializeToString(), rev + 1)
    out = {t.meta.id: t for t in decoded(parts.answer(view, is_brief=True))}
    assert out["t5"].status == running and out["t7"].node == "n2"
    for i in range(10, 100):  # most tasks deleted: their parts go
        view.apply(keys.task_key("shop", f"t{i}"), None, rev + 2 + i)
    assert [t.meta.id for t in decoded(parts.answer(view, is_brief=True))] == [
        f"t{i}" for i in range(10)]
    assert set(parts.short) == {f"t{i}" for i in range(10)}


def test_the_varint_length_of_large_parts() -> None:
    big = task("shop", "big")
    big.spec.environment["X"] = "x" * 300_000  # a length of three varint bytes
    view = view_of([big], {("shop", "big"): objects_pb2.TaskStatus(message="m" * 200)})
    assert decoded(tasklist.TaskParts().answer(view)) == list(
        viewreads.tasks_response(view).tasks)


def json_rows(data: bytes) -> bytes:
    answer = control_pb2.ListTasksResponse.FromString(data)
    assert not answer.tasks
    return answer.json_rows


def test_the_json_rows_are_what_get_tasks_printed_and_follow_changes() -> None:
    for seed in range(40):
        view = random_view(seed)
        parts = tasklist.TaskParts()
        for app in ("", "shop", "shop-b", "nothing"):
            whole = list(viewreads.tasks_response(view, app).tasks)
            expected = reference_text(whole)
            assert json_rows(parts.json_rows(view, app)) == expected
            assert json_rows(parts.json_rows(view, app)) == expected  # from the kept rows
    view = view_of([task("shop", f"t{i}") for i in range(100)], {})
    parts = tasklist.TaskParts()
    parts.json_rows(view)
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, container_id="c9")
    view.apply(keys.status_key("shop", "t5"), running.SerializeToString(), 1000)
    for i in range(10, 100):
        view.apply(keys.task_key("shop", f"t{i}"), None, 1001 + i)
    rows = json.loads(json_rows(parts.json_rows(view)))
    assert [r["id"] for r in rows] == [f"t{i}" for i in range(10)]
    assert rows[5]["state"] == "running" and rows[5]["container_id"] == "c9"
    assert set(parts.rows) == {f"t{i}" for i in range(10)}


def reference_text(tasks: list[objects_pb2.Task]) -> bytes:
    """What `dockyard get tasks -o json` printed from whole tasks (without its last line
    break), as the CLI made it before the server wrote it."""
    rows = sorted((render.task_row(t) for t in tasks), key=itemgetter("app", "service", "slot"))
    return render.dump(rows, "json").encode()
