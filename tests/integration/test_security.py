"""Mutual TLS on :7070 against a real server: joins, node identity, admin credential, renewal.

Agents here are the real `agent.session.Session` with a stand-in runner (no Docker).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from dockyard.agent import identity as ident
from dockyard.agent.session import JoinRefused, Session, StatusBatch
from dockyard.client.control import load_credentials
from dockyard.common.jointoken import split_token
from dockyard.controlplane.security import pki
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2
from tests.integration.harness import (
    ServerProcess,
    free_port,
    free_port_pair,
    run_cli,
    wait_port_free,
)

pytestmark = pytest.mark.integration
OPTS = ident.CHANNEL_OPTIONS


class FakeRunner:
    def __init__(self) -> None:
        self.messages: list[dispatcher_pb2.SessionMessage] = []

    def resend_all(self) -> None:
        pass

    def assign(self, msg: dispatcher_pb2.SessionMessage) -> None:
        self.messages.append(msg)


def token_of(server: ServerProcess) -> str:
    return (server.data_dir / "join-token").read_text().strip()


def session(server: ServerProcess, name: str, token: str,
            identity_file: Path | None = None) -> Session:
    desc = objects_pb2.NodeDescription(name=name, address="127.0.0.1")
    return Session(addresses=[server.address], token=token, description=desc,
                   runner=FakeRunner(), batch=StatusBatch(),  # type: ignore[arg-type]
                   identity_file=identity_file)


async def joined(server: ServerProcess, name: str,
                 within_s: float = 10.0) -> tuple[Session, asyncio.Task[None]]:
    s = session(server, name, token_of(server))
    task = asyncio.create_task(s.run_forever())
    for _ in range(int(within_s * 10)):
        if s.identity.cert:
            return s, task
        if task.done():
            task.result()
        await asyncio.sleep(0.1)
    raise AssertionError("the agent did not join")


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def cn_of(pem: bytes) -> str:
    return str(x509.load_pem_x509_certificate(pem).subject
               .get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_server_writes_a_private_admin_credential_and_a_home_copy(server: ServerProcess) -> None:
    mode = stat.S_IMODE(os.stat(server.credentials).st_mode)
    assert mode == 0o600
    home = server.home / ".dockyard" / "admin.pem"
    assert home.read_text() == server.credentials.read_text()
    assert stat.S_IMODE(os.stat(server.data_dir / "join-token").st_mode) == 0o600
    assert token_of(server).startswith("dyt1-")


def test_agent_joins_gets_a_certificate_for_its_name_and_streams(server: ServerProcess) -> None:
    async def scenario() -> None:
        s, task = await joined(server, "n1")
        try:
            assert cn_of(s.identity.cert) == "n1"
            runner: FakeRunner = s._runner  # type: ignore[assignment]
            for _ in range(50):
                if runner.messages:
                    break
                await asyncio.sleep(0.1)
            assert runner.messages and runner.messages[0].complete
        finally:
            await stop(task)

    asyncio.run(scenario())
    nodes = run_cli(server, "get", "nodes", "-o", "json").stdout
    assert '"n1"' in nodes


def test_wrong_join_token_is_refused_at_once(server: ServerProcess) -> None:
    digest, _secret = split_token(token_of(server))
    for bad in (f"dyt1-{digest}-not-the-secret", "dyt1-" + "0" * 64 + "-x", "guess"):
        s = session(server, "n2", bad)
        with pytest.raises(JoinRefused) as exc:
            asyncio.run(asyncio.wait_for(s.run_forever(), 10))
        msg = str(exc.value)
        assert "\n" not in msg
        assert "invalid join token" in msg or "not the cluster" in msg, msg


def test_a_node_may_not_speak_for_another_node(server: ServerProcess) -> None:
    async def scenario() -> None:
        s, task = await joined(server, "n1")
        await stop(task)
        async with grpc.aio.secure_channel(server.address, s.identity.credentials(),
                                           options=OPTS) as ch:
            stub = dispatcher_pb2_grpc.SessionsStub(ch)
            certs = dispatcher_pb2_grpc.CertificatesStub(ch)
            for call in (
                stub.UpdateTaskStatus(dispatcher_pb2.UpdateTaskStatusRequest(
                    node="n2", session_id="x", updates=[dispatcher_pb2.TaskStatusUpdate(
                        task_id="t", status=objects_pb2.TaskStatus())])),
                stub.Heartbeat(dispatcher_pb2.HeartbeatRequest(node="n2", session_id="x")),
                certs.Register(dispatcher_pb2.RegisterRequest(
                    description=objects_pb2.NodeDescription(name="n2"))),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await call
                assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
                assert "for node n1, not n2" in (exc.value.details() or "")
            # A node certificate is no admin credential.
            from dockyard.v1 import control_pb2, control_pb2_grpc

            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await control_pb2_grpc.ControlStub(ch).ListApps(control_pb2.ListRequest())
            assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "admin credential" in (exc.value.details() or "")

    asyncio.run(scenario())


def test_join_certificate_only_registers_with_a_csr(server: ServerProcess) -> None:
    async def scenario() -> None:
        _d, secret = split_token(token_of(server))
        ca = ident.trusted_ca(server.address, token_of(server), "n3")
        cert, key = ident.join_certificate(secret, "n3")
        async with grpc.aio.secure_channel(
            server.address, ident.join_credentials(ca, cert, key), options=OPTS
        ) as ch:
            stub = dispatcher_pb2_grpc.SessionsStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await stub.Heartbeat(dispatcher_pb2.HeartbeatRequest(node="n3", session_id="x"))
            assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
            certs = dispatcher_pb2_grpc.CertificatesStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await certs.Register(dispatcher_pb2.RegisterRequest(
                    description=objects_pb2.NodeDescription(name="n3")))
            assert "csr" in (exc.value.details() or "")

    asyncio.run(scenario())


def test_forged_self_signed_and_plaintext_clients_are_refused(
    server: ServerProcess, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.pem"
    forged.write_text(pki.admin_bundle(pki.create_ca()))
    out = run_cli(server, "get", "apps", check=False, credentials=forged)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr

    # A self-signed "admin" certificate presented with the real CA as trust.
    _cert, _key, ca = load_credentials(server.credentials)
    other = pki.create_ca()
    self_cert, self_key = pki.issue_with_key(other, cn="admin", ou=pki.OU_ADMIN, valid_s=600)
    for creds in (grpc.ssl_channel_credentials(ca, self_key, self_cert),
                  grpc.ssl_channel_credentials(ca)):  # and no certificate at all
        with grpc.secure_channel(server.address, creds, options=OPTS) as ch:
            from dockyard.v1 import control_pb2, control_pb2_grpc

            with pytest.raises(grpc.RpcError) as err:
                control_pb2_grpc.ControlStub(ch).ListApps(control_pb2.ListRequest(), timeout=5)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]

    with grpc.insecure_channel(server.address) as ch:
        from dockyard.v1 import control_pb2, control_pb2_grpc

        with pytest.raises(grpc.RpcError) as err:
            control_pb2_grpc.ControlStub(ch).ListApps(control_pb2.ListRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]


def test_cli_without_credential_is_one_line(server: ServerProcess, tmp_path: Path) -> None:
    out = run_cli(server, "get", "apps", check=False, credentials=tmp_path / "none.pem")
    assert out.returncode == 1
    assert out.stderr.startswith("error: no admin credential at ") and out.stderr.count("\n") == 1


def test_token_print_and_rotate(server: ServerProcess) -> None:
    first = run_cli(server, "token", "agent").stdout.strip()
    assert first == token_of(server)
    rotated = run_cli(server, "token", "agent", "--rotate").stdout.strip()
    assert rotated != first and rotated == token_of(server)
    assert split_token(rotated)[0] == split_token(first)[0]  # same CA
    with pytest.raises(JoinRefused, match="invalid join token"):
        asyncio.run(asyncio.wait_for(session(server, "n4", first).run_forever(), 10))

    async def new_token_joins() -> None:
        _s, task = await joined(server, "n4")
        await stop(task)

    asyncio.run(new_token_joins())


@pytest.fixture
def short_certs(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port_pair())
    srv.data_dir.mkdir()
    srv.start("--node-cert-ttl", "6")
    yield srv
    srv.stop()
    wait_port_free(srv.etcd_port)


def test_agent_renews_its_certificate_without_restart(short_certs: ServerProcess) -> None:
    async def scenario() -> None:
        s, task = await joined(short_certs, "n5")
        try:
            seen = {s.identity.cert}
            # Two renewals at 4 s each; a loaded machine may take longer, so the bound
            # is 30 s of wall time (and at most 600 polls).
            deadline = time.monotonic() + 30
            for _ in range(600):
                await asyncio.sleep(0.1)
                seen.add(s.identity.cert)
                assert not task.done(), task
                if len(seen) >= 3 or time.monotonic() > deadline:
                    break
            assert len(seen) >= 3, f"{len(seen) - 1} renewals in 30 s"
            # Asked while the agent runs: once it stops, the grace runs out.
            out = await asyncio.to_thread(run_cli, short_certs, "get", "nodes", "-o", "json")
            assert '"ready"' in out.stdout, out.stdout
        finally:
            await stop(task)

    asyncio.run(scenario())
