"""Compose's long-syntax `uid`, `gid` and `mode` of a secret or config: which file a
reference mounts (pure), how the agent makes it (a real file in a temporary directory,
owned and moded as asked), and what it says when it cannot."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from dockyard.agent.files import MemoryFiles, TmpfsFiles, owned_copies
from dockyard.agent.runner import Runner
from dockyard.agent.runtime.docker.create import volumes_for
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.common.files import Ownership, mount_key, mounted_keys, ownership
from dockyard.v1 import dispatcher_pb2, objects_pb2, specs_pb2

A = dispatcher_pb2.Assignment
DELIVERED = "secret/shop/pw@1"


def ref(uid: str = "", gid: str = "", mode: int = 0) -> specs_pb2.FileReference:
    return specs_pb2.FileReference(source="pw", uid=uid, gid=gid, mode=mode,
                                   object="shop/pw", version=1)


def task(tid: str, r: specs_pb2.FileReference) -> objects_pb2.Task:
    t = objects_pb2.Task(app="shop", service="db", slot=1,
                         desired_state=objects_pb2.DESIRED_RUNNING)
    t.spec.name, t.spec.image = "db", "busybox"
    t.spec.secrets.add().CopyFrom(r)
    t.meta.id = tid
    return t


@pytest.mark.parametrize(
    ("r", "owner", "problem"),
    [
        (ref(), None, ""),
        (ref(uid="999", gid="999", mode=0o400), Ownership(999, 999, 0o400), ""),
        (ref(mode=0o440), Ownership(None, None, 0o440), ""),
        (ref(uid="0"), Ownership(0, None, None), ""),
        (ref(uid="www-data", mode=0o400), Ownership(None, None, 0o400),
         "pw: uid 'www-data' not applied (a number is needed); the file keeps its "
         "default owner"),
    ],
)
def test_ownership_of_a_reference(r: specs_pb2.FileReference, owner: Ownership | None,
                                  problem: str) -> None:
    assert ownership(r) == (owner, problem)


def test_a_reference_with_its_own_ownership_mounts_its_own_copy() -> None:
    assert mount_key("secret", ref()) == DELIVERED
    assert mount_key("secret", ref(uid="999", gid="998", mode=0o400)) == DELIVERED + "#999:998:400"
    assert mount_key("secret", ref(mode=0o440)) == DELIVERED + "#::440"
    tasks = [task("t1", ref()), task("t2", ref(uid="7")), task("t3", ref(uid="7"))]
    assert mounted_keys(tasks) == {DELIVERED, DELIVERED + "#7::"}


def test_the_container_mounts_the_copy() -> None:
    t = task("t1", ref(uid="999", mode=0o400))
    paths = {DELIVERED: "/tmpfs/pw", DELIVERED + "#999::400": "/tmpfs/pw-999"}
    assert volumes_for(t, paths) == ["/tmpfs/pw-999:/run/secrets/pw:ro"]
    assert volumes_for(task("t2", ref()), paths) == ["/tmpfs/pw:/run/secrets/pw:ro"]


def test_a_file_on_disk_gets_the_owner_and_mode_asked(tmp_path: Path) -> None:
    files = TmpfsFiles(tmp_path)
    uid = 1234 if os.geteuid() == 0 else os.geteuid()  # only root gives a file away
    gid = 5678 if os.geteuid() == 0 else os.getegid()
    delivered = Path(files.write(DELIVERED, b"pw"))
    assert delivered.stat().st_mode & 0o777 == 0o444  # the default, as before
    paths = {DELIVERED: str(delivered)}
    owned_copies(files, paths, task("t1", ref(uid=str(uid), gid=str(gid), mode=0o400)))
    copy = Path(paths[f"{DELIVERED}#{uid}:{gid}:400"])
    st = copy.stat()
    assert (copy.read_bytes(), st.st_uid, st.st_gid, st.st_mode & 0o777) == (
        b"pw", uid, gid, 0o400)
    assert delivered.stat().st_mode & 0o777 == 0o444  # the delivered file is untouched
    assert files.held() == {DELIVERED, f"{DELIVERED}#{uid}:{gid}:400"}


def test_a_chown_the_agent_may_not_do_is_one_warning_and_the_mode_still_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refused)
    files = TmpfsFiles(tmp_path)
    paths = {DELIVERED: files.write(DELIVERED, b"pw")}
    with caplog.at_level(logging.WARNING, logger="dockyard.agent"):
        owned_copies(files, paths, task("t1", ref(uid="999", mode=0o440)))
    copy = Path(paths[DELIVERED + "#999::440"])
    assert copy.read_bytes() == b"pw" and copy.stat().st_mode & 0o777 == 0o440
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "cannot give the file to uid 999" in lines[0]
    assert "Operation not permitted" in lines[0] and "\n" not in lines[0]


def test_a_uid_that_is_a_name_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    keeper = MemoryFiles()
    paths = {DELIVERED: keeper.write(DELIVERED, b"pw")}
    with caplog.at_level(logging.WARNING, logger="dockyard.agent"):
        owned_copies(keeper, paths, task("t1", ref(uid="www-data")))
    assert set(paths) == {DELIVERED}  # nothing else asked: the delivered file is mounted
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == ("task t1: secret pw: uid 'www-data' not applied (a number is needed); "
                    "the file keeps its default owner")


def test_the_runner_makes_the_copy_before_the_container_and_drops_it_with_its_task(
    tmp_path: Path
) -> None:
    async def no_wait(_: float) -> None:
        return None

    keeper = MemoryFiles()
    runner = Runner(driver=FakeDriver(), node="n1", state_dir=tmp_path,
                    report=lambda *_: None, files=keeper, sleep=no_wait)
    t = task("t1", ref(uid="999", gid="998", mode=0o400))

    async def settle() -> None:
        for _ in range(500):  # bounded: the in-memory driver needs a few loop turns
            await asyncio.sleep(0)
            if runner.quiet():
                return
        raise AssertionError("the runner did not settle")

    async def body() -> None:
        loop = asyncio.create_task(runner.run())
        try:
            runner.assign(dispatcher_pb2.SessionMessage(
                complete=True, assignments=[A(action=A.UPDATE, task=t)],
                files={DELIVERED: b"pw"}))
            await settle()
            assert runner.container_of("t1")
            assert keeper.owners == {DELIVERED + "#999:998:400": Ownership(999, 998, 0o400)}
            assert keeper.data == {DELIVERED: b"pw", DELIVERED + "#999:998:400": b"pw"}
            runner.assign(dispatcher_pb2.SessionMessage(complete=True))
            assert keeper.data == {} and keeper.owners == {}
            await settle()
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)

    asyncio.run(body())
