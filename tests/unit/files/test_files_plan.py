"""Secrets and configs, the pure parts: versions, external references, rolling, what a
node is sent and keeps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.agent.files import MemoryFiles, TmpfsFiles, filesystem_of
from dockyard.agent.runner import Runner
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.common.files import delivery_key, wanted_files
from dockyard.controlplane.files.delivery import SessionFiles, to_send
from dockyard.controlplane.files.plan import digest, next_version, plan_app, roll, users_of
from dockyard.controlplane.files.store import FileStore
from dockyard.v1 import dispatcher_pb2, objects_pb2, specs_pb2


def app_spec(*, external: bool = False, data: bytes = b"pw-1") -> specs_pb2.AppSpec:
    spec = specs_pb2.AppSpec(name="shop")
    db = spec.services.add(name="db", image="x", replicas=1)
    db.secrets.add(source="pw")
    spec.services.add(name="web", image="x", replicas=1).configs.add(source="site")
    if external:
        spec.secrets.add(name="pw", external=True, external_name="shared_pw")
    else:
        spec.secrets.add(name="pw", data=data)
    spec.configs.add(name="site", data=b"listen 80")
    return spec


def stored(kind: str, name: str, version: int, data: bytes, app: str = ""
           ) -> objects_pb2.StoredFile:
    f = objects_pb2.StoredFile(kind=kind, app=app, version=version, digest=digest(data),
                               size=len(data))
    f.meta.id = name
    return f


def test_first_apply_writes_version_1_and_clears_the_content() -> None:
    plan = plan_app(app_spec(), {})
    assert plan.problem is None
    assert [(w.kind, w.name, w.version) for w in plan.writes] == [
        ("secret", "shop/pw", 1), ("config", "shop/site", 1)]
    assert all(not o.data for o in (*plan.spec.secrets, *plan.spec.configs))
    ref = plan.spec.services[0].secrets[0]
    assert (ref.object, ref.version) == ("shop/pw", 1)
    assert plan.spec.secrets[0].digest == digest(b"pw-1")


def test_same_content_keeps_the_version_and_writes_nothing() -> None:
    have = {("secret", "shop/pw"): stored("secret", "shop/pw", 4, b"pw-1", "shop"),
            ("config", "shop/site"): stored("config", "shop/site", 2, b"listen 80", "shop")}
    plan = plan_app(app_spec(), have)
    assert plan.writes == []
    assert plan.spec.services[0].secrets[0].version == 4
    changed = plan_app(app_spec(data=b"pw-2"), have)
    assert [(w.name, w.version) for w in changed.writes] == [("shop/pw", 5)]


def test_external_names_the_created_object_or_is_refused_naming_the_service() -> None:
    plan = plan_app(app_spec(external=True), {})
    assert plan.problem is not None
    assert plan.problem.startswith('service "db": secret "pw" is external')
    assert 'no secret named "shared_pw"' in plan.problem
    have = {("secret", "shared_pw"): stored("secret", "shared_pw", 3, b"s")}
    plan = plan_app(app_spec(external=True), have)
    assert plan.problem is None
    assert all(w.name != "shared_pw" for w in plan.writes)
    assert plan.spec.services[0].secrets[0].object == "shared_pw"
    assert plan.spec.services[0].secrets[0].version == 3


def test_a_declaration_dropped_from_the_file_deletes_the_apps_own_object() -> None:
    previous = plan_app(app_spec(), {}).spec
    spec = app_spec()
    del spec.configs[:]
    del spec.services[1].configs[:]
    assert plan_app(spec, {}, previous=previous).deletes == [("config", "shop/site")]


def test_a_stored_spec_again_refers_to_the_objects_as_they_stand() -> None:
    """A rollback applies a kept spec: its declarations carry objects, not contents."""
    kept = plan_app(app_spec(), {}).spec
    have = {("secret", "shop/pw"): stored("secret", "shop/pw", 3, b"pw-3", "shop"),
            ("config", "shop/site"): stored("config", "shop/site", 1, b"listen 80", "shop")}
    plan = plan_app(kept, have)
    assert plan.problem is None and plan.writes == []
    assert plan.spec.services[0].secrets[0].version == 3
    gone = plan_app(kept, {})
    assert gone.problem == 'service "db": secret "pw" is no longer stored; apply a file instead'


def test_next_version() -> None:
    old = stored("secret", "a", 7, b"x")
    assert next_version(None, b"x") == 1
    assert next_version(old, b"x") is None
    assert next_version(old, b"y") == 8


def test_a_new_version_rolls_exactly_the_services_using_it() -> None:
    spec = plan_app(app_spec(external=True),
                    {("secret", "shared_pw"): stored("secret", "shared_pw", 1, b"a")}).spec
    svcs = []
    for s in spec.services:
        svc = objects_pb2.Service(app="shop", spec=s, spec_hash="h")
        svc.meta.id = f"shop/{s.name}"
        svcs.append(svc)
    app = objects_pb2.App(spec=spec)
    app.meta.id = "shop"
    assert users_of(svcs, "secret", "shared_pw") == ["shop/db"]
    rolled, apps = roll(svcs, [app], stored("secret", "shared_pw", 2, b"b"), now_ms=5)
    assert [s.meta.id for s in rolled] == ["shop/db"]
    assert rolled[0].spec.secrets[0].version == 2 and rolled[0].spec_hash != "h"
    assert apps[0].spec.secrets[0].version == 2 and apps[0].spec.secrets[0].digest == digest(b"b")
    assert roll(rolled, apps, stored("secret", "shared_pw", 2, b"b"), now_ms=6) == ([], [])


def task_using(tid: str, node_obj: str, version: int, *, kind: str = "secret") -> objects_pb2.Task:
    t = objects_pb2.Task(app="shop", service="db")
    ref = (t.spec.secrets if kind == "secret" else t.spec.configs).add(source="pw")
    ref.object, ref.version = node_obj, version
    t.meta.id = tid
    return t


def test_a_node_wants_what_its_tasks_mount_and_nothing_else() -> None:
    tasks = [task_using("t1", "shop/pw", 2), task_using("t2", "shop/pw", 2),
             task_using("t3", "shop/site", 1, kind="config")]
    wanted = wanted_files(tasks)
    assert sorted(wanted) == [delivery_key("config", "shop/site", 1),
                              delivery_key("secret", "shop/pw", 2)]
    assert wanted_files([]) == {}
    assert to_send(wanted, {"secret/shop/pw@2"}) == [wanted["config/shop/site@1"]]


class FakeFiles(FileStore):
    """The file store over a dict (the real one reads etcd); counts what is opened."""

    def __init__(self, files: dict[tuple[str, str], tuple[objects_pb2.StoredFile, bytes]]) -> None:
        super().__init__(None, None)  # type: ignore[arg-type]
        self.files = files
        self.opened: list[str] = []

    async def read(self, kind: str, name: str) -> objects_pb2.StoredFile | None:
        got = self.files.get((kind, name))
        return got[0] if got else None

    def content(self, file: objects_pb2.StoredFile) -> bytes:
        self.opened.append(f"{file.meta.id}@{file.version}")
        return self.files[(file.kind, file.meta.id)][1]


def test_each_version_is_sent_once_per_session_and_again_after_a_complete_set() -> None:
    files = FakeFiles({("secret", "shop/pw"): (stored("secret", "shop/pw", 2, b"pw"), b"pw")})
    session = SessionFiles(files)
    tasks = [task_using("t1", "shop/pw", 2)]

    async def run() -> list[dict[str, bytes]]:
        return [await session.next(tasks, complete=True),
                await session.next(tasks, complete=False),
                await session.next([*tasks, task_using("t2", "shop/pw", 2)], complete=False),
                await session.next(tasks, complete=True),
                await session.next([task_using("t3", "shop/pw", 1)], complete=False)]

    first, second, third, fourth, stale = asyncio.run(run())
    assert first == {"secret/shop/pw@2": b"pw"} and second == {} and third == {}
    assert fourth == {"secret/shop/pw@2": b"pw"}
    assert stale == {}  # a version no longer stored is not sent (its task is replaced)
    assert files.opened == ["shop/pw@2", "shop/pw@2"]


def test_the_agent_drops_a_file_when_no_task_on_the_node_mounts_it(tmp_path: Path) -> None:
    keeper = MemoryFiles()
    runner = Runner(driver=FakeDriver(), node="n1", state_dir=tmp_path, report=lambda *_: None,
                    files=keeper)
    A = dispatcher_pb2.Assignment
    t1, t2 = task_using("t1", "shop/pw", 1), task_using("t2", "shop/pw", 2)
    runner.assign(dispatcher_pb2.SessionMessage(
        complete=True, assignments=[A(action=A.UPDATE, task=t1)],
        files={"secret/shop/pw@1": b"one"}))
    assert keeper.data == {"secret/shop/pw@1": b"one"}
    runner.assign(dispatcher_pb2.SessionMessage(
        assignments=[A(action=A.UPDATE, task=t2)], files={"secret/shop/pw@2": b"two"}))
    assert set(keeper.data) == {"secret/shop/pw@1", "secret/shop/pw@2"}
    runner.assign(dispatcher_pb2.SessionMessage(assignments=[A(action=A.REMOVE, task=t1)]))
    assert keeper.data == {"secret/shop/pw@2": b"two"}
    runner.assign(dispatcher_pb2.SessionMessage(complete=True))
    assert keeper.data == {}


def test_tmpfs_files_write_read_only_files_and_remove_empty_dirs(tmp_path: Path) -> None:
    files = TmpfsFiles(tmp_path / "files")
    (tmp_path / "files").mkdir()
    path = Path(files.write("secret/shop/pw@1", b"x"))
    assert path.read_bytes() == b"x" and path.stat().st_mode & 0o777 == 0o444
    assert files.held() == {"secret/shop/pw@1"}
    files.remove("secret/shop/pw@1")
    assert files.held() == set() and not (tmp_path / "files" / "secret").exists()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "secret//x", "a/./b"])
def test_tmpfs_files_refuse_keys_outside_their_root(tmp_path: Path, key: str) -> None:
    from dockyard.agent.files import FilesError

    with pytest.raises(FilesError):
        TmpfsFiles(tmp_path).write(key, b"x")


def test_filesystem_of_takes_the_longest_mount_point() -> None:
    mounts = ("/dev/vda / ext4 rw 0 0\ntmpfs /run/dockyard-agent/h1 tmpfs rw 0 0\n"
              "tmpfs /dev/shm tmpfs rw 0 0\n")
    assert filesystem_of(Path("/run/dockyard-agent/h1"), mounts) == "tmpfs"
    assert filesystem_of(Path("/run/dockyard-agent/h1/secret/x"), mounts) == "tmpfs"
    assert filesystem_of(Path("/run/dockyard-agent/h10"), mounts) == "ext4"
    assert filesystem_of(Path("/var/lib/x"), mounts) == "ext4"
