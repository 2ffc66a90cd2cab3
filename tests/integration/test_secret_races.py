"""`dockyard secret rm` against an apply that starts using the secret, with the two
interleaved the way a race needs, every time rather than by luck: the Control service
under test runs in this process on a real etcd (the one of a real server), and its store
lets the other side's real CLI call land between its read and its commit.

Whichever lands second loses whole: an rm after the apply's read makes the apply fail
its comparison of the secret's revision; an apply after the rm's read makes the rm
fail its comparison that no app changed since. Neither leaves a service using a secret
that is gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from dockyard.client.compose_files import load_compose
from dockyard.controlplane.api.control import ControlService
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.v1 import control_pb2, control_pb2_grpc
from tests.integration.harness import ServerProcess, embedded_etcd_tls, run_cli

pytestmark = pytest.mark.integration

USES_SHARED = """
name: other
services:
  web:
    image: 127.0.0.1:5000/busybox:latest
    command: ["sleep", "3600"]
    secrets: [shared]
secrets:
  shared:
    external: true
"""


class Interleaved(EtcdStore):
    """A real store that runs `between` once, right after the read of `prefix` (or right
    before the first commit, for prefix "commit"): the other side's write lands there."""

    def __init__(self, server: ServerProcess, prefix: str,
                 between: Callable[[], Awaitable[None]]) -> None:
        super().__init__([f"https://127.0.0.1:{server.etcd_port}"],
                         tls=embedded_etcd_tls(server.data_dir))
        self.prefix, self.between, self.done = prefix, between, False

    async def _once(self) -> None:
        if not self.done:
            self.done = True
            await self.between()

    async def get_prefix(self, prefix: str, *, revision: int = 0) -> tuple[list, int]:  # type: ignore[type-arg]
        got = await super().get_prefix(prefix, revision=revision)
        if prefix == self.prefix:
            await self._once()
        return got

    async def commit(self, commit: Commit) -> bool:
        if self.prefix == "commit":
            await self._once()
        return await super().commit(commit)


async def call_in_process(store: Interleaved, rpc: str, request: object
                          ) -> tuple[grpc.StatusCode, str]:
    """`rpc` on a ControlService over `store`, served in this process on loopback; the
    status it ended with, and its message."""
    await store.connect()
    server = grpc.aio.server()
    control_pb2_grpc.add_ControlServicer_to_server(ControlService(store, on_change=lambda: None),
                                                   server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = control_pb2_grpc.ControlStub(channel)
            try:
                await getattr(stub, rpc)(request)
            except grpc.aio.AioRpcError as exc:
                return exc.code(), exc.details() or ""
            return grpc.StatusCode.OK, ""
    finally:
        await server.stop(None)
        await store.close()


def used_by(server: ServerProcess) -> dict[str, list[str]]:
    rows = json.loads(run_cli(server, "secret", "ls", "-o", "json").stdout)
    return {str(r["name"]): list(r["used_by"]) for r in rows}


@pytest.fixture
def shared(server: ServerProcess, tmp_path: Path) -> Path:
    """The created secret `shared`, and a Compose file of app `other` that uses it."""
    (tmp_path / "shared.txt").write_text("s3cret")
    run_cli(server, "secret", "create", "shared", "-f", str(tmp_path / "shared.txt"))
    f = tmp_path / "compose.yaml"
    f.write_text(USES_SHARED)
    return f


def test_an_apply_between_the_rms_check_and_its_delete_keeps_the_secret(
    server: ServerProcess, shared: Path
) -> None:
    async def apply() -> None:
        await asyncio.to_thread(run_cli, server, "apply", "-f", str(shared))

    store = Interleaved(server, keys.SERVICES, apply)
    code, message = asyncio.run(call_in_process(
        store, "RemoveFile", control_pb2.RemoveFileRequest(kind="secret", name="shared")))
    assert store.done  # the apply did land between the rm's read and its commit
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "used by other/web" in message
    assert used_by(server) == {"shared": ["other/web"]}


def test_an_rm_between_the_applys_read_and_its_commit_refuses_the_apply(
    server: ServerProcess, shared: Path
) -> None:
    async def rm() -> None:
        out = await asyncio.to_thread(run_cli, server, "secret", "rm", "shared")
        assert "secret shared removed" in out.stdout

    store = Interleaved(server, "commit", rm)
    spec = load_compose([str(shared)], []).spec
    code, message = asyncio.run(call_in_process(store, "Apply",
                                                control_pb2.ApplyRequest(spec=spec)))
    assert store.done  # the rm did land between the apply's read and its commit
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert 'secret "shared"' in message
    assert json.loads(run_cli(server, "get", "apps", "-o", "json").stdout) == []
    assert used_by(server) == {}
