"""Node identity and who may call what, against a real server and a real etcd.

Agents are the real `agent.session.Session` with a stand-in runner (no Docker); raw calls
use real join, node and admin certificates over mutual TLS.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dockyard.agent import identity as ident
from dockyard.agent.session import JoinRefused, Session, StatusBatch
from dockyard.client.control import load_credentials
from dockyard.common.jointoken import split_token
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2
from tests.integration.harness import ServerProcess, free_port, run_cli, wait_port_free
from tests.integration.test_security import FakeRunner, joined, session, stop, token_of

pytestmark = pytest.mark.integration
OPTS = ident.CHANNEL_OPTIONS
BAD_NAMES = ("../../x", "x\0y", "a\n", "Web", "web_1", "a" * 64, "-x", "a.b")


def join_channel(server: ServerProcess, name: str) -> grpc.aio.Channel:
    """A channel with a join certificate for `name`, made from the server's token."""
    token = token_of(server)
    _digest, secret = split_token(token)
    ca = ident.trusted_ca(server.address, token, "probe")
    cert, key = ident.join_certificate(secret, name)
    return grpc.aio.secure_channel(server.address, ident.join_credentials(ca, cert, key),
                                   options=OPTS)


def admin_channel(server: ServerProcess) -> grpc.aio.Channel:
    cert, key, ca = load_credentials(server.credentials)
    return grpc.aio.secure_channel(server.address, grpc.ssl_channel_credentials(ca, key, cert),
                                   options=OPTS)


def register(name: str, csr: bytes) -> dispatcher_pb2.RegisterRequest:
    return dispatcher_pb2.RegisterRequest(
        description=objects_pb2.NodeDescription(name=name, address="127.0.0.1"), csr=csr)


def node_state(server: ServerProcess, name: str) -> str | None:
    rows = json.loads(run_cli(server, "get", "nodes", "-o", "json").stdout)
    return next((r["state"] for r in rows if r["name"] == name), None)


def test_a_live_nodes_name_cannot_be_taken_with_the_join_token(server: ServerProcess) -> None:
    async def scenario() -> None:
        _first, task = await joined(server, "n1")
        try:
            intruder = session(server, "n1", token_of(server))
            with pytest.raises(JoinRefused) as exc:
                await asyncio.wait_for(intruder.run_forever(), 15)
            msg = str(exc.value)
            assert "node n1 already exists" in msg and "dockyard node rm n1" in msg, msg
            assert "\n" not in msg
            assert not task.done()  # the real n1 keeps its session
        finally:
            await stop(task)

    asyncio.run(scenario())


@pytest.fixture
def quick_grace(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port())
    srv.data_dir.mkdir()
    srv.start("--node-grace", "2", "--heartbeat", "0.5")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


def test_node_rm_refuses_a_live_node_and_frees_the_name_of_a_down_one(
    quick_grace: ServerProcess, tmp_path: Path
) -> None:
    server = quick_grace
    kept = tmp_path / "identity" / "n1.pem"

    async def join_and_stop() -> bytes:
        s = session(server, "n1", token_of(server), identity_file=kept)
        task = asyncio.create_task(s.run_forever())
        for _ in range(100):
            if s.identity.cert:
                break
            await asyncio.sleep(0.1)
        cert = s.identity.cert
        out = await asyncio.to_thread(run_cli, server, "node", "rm", "n1", check=False)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert "node n1 is alive" in out.stderr
        await stop(task)
        return cert

    first_cert = asyncio.run(join_and_stop())
    assert kept.exists() and ident.Identity.load(kept, "n1") is not None
    for _ in range(100):  # bounded: the grace is 2 s
        if node_state(server, "n1") == "down":
            break
        time.sleep(0.2)
    assert node_state(server, "n1") == "down"
    # Down but not removed: the name is still taken.
    with pytest.raises(JoinRefused, match="already exists"):
        asyncio.run(asyncio.wait_for(session(server, "n1", token_of(server)).run_forever(), 15))

    assert run_cli(server, "node", "rm", "n1").stdout.strip() == "node n1 removed"
    assert node_state(server, "n1") is None
    assert run_cli(server, "node", "rm", "n1").stdout.strip() == "node n1 not found; nothing to do"

    async def old_agent_comes_back() -> bytes:
        # It still holds its old certificate: the server says the node was removed, and
        # the agent drops it and joins again with the token.
        s = session(server, "n1", token_of(server), identity_file=kept)
        assert s.identity.cert == first_cert  # taken from the file
        task = asyncio.create_task(s.run_forever())
        try:
            for _ in range(150):
                if s.identity.cert and s.identity.cert != first_cert:
                    break
                if task.done():
                    task.result()
                await asyncio.sleep(0.1)
            return s.identity.cert
        finally:
            await stop(task)

    second_cert = asyncio.run(old_agent_comes_back())
    assert second_cert and second_cert != first_cert
    assert node_state(server, "n1") in ("ready", "down")


def test_bad_node_names_are_refused_in_one_line(server: ServerProcess) -> None:
    async def scenario() -> None:
        key = ident.new_key()
        for name in BAD_NAMES:
            async with join_channel(server, name) as ch:
                certs = dispatcher_pb2_grpc.CertificatesStub(ch)
                ask = ident.Identity(name, key).csr()
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await certs.Register(register(name, ask), timeout=10)
                assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
                details = exc.value.details() or ""
                assert "node name" in details and "\n" not in details, details

    asyncio.run(scenario())
    nodes = json.loads(run_cli(server, "get", "nodes", "-o", "json").stdout)
    assert nodes == []


def test_agent_with_a_bad_name_stops_with_one_line(server: ServerProcess, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(token_of(server))
    out = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "agent", "--join", server.address,
         "--token-file", str(token_file), "--name", "../../x", "--docker", "unix:///nonexistent"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("error: --name: bad node name") and out.stderr.count("\n") == 1


async def _health(ch: grpc.aio.Channel) -> int:
    reply = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return int(reply.status)


async def _services(ch: grpc.aio.Channel) -> list[str]:
    async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    call = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(ask(), timeout=10)
    async for reply in call:
        return [s.name for s in reply.list_services_response.service]
    return []


async def _reflection_refused(ch: grpc.aio.Channel) -> None:
    """Open a reflection stream and write nothing: the role check answers when the call
    opens, so a refusal is the call's status. (Writing a request could race the refusal:
    a write that fails on a stream the server already closed sets the call's status to
    INTERNAL, "Internal error from Core", before the server's status arrives.)"""
    call = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(timeout=10)
    code = await call.code()
    raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(),
                               details=await call.details())


def test_health_and_reflection_are_admin_only(server: ServerProcess) -> None:
    async def scenario() -> None:
        node, task = await joined(server, "n1")
        await stop(task)
        node_ch = grpc.aio.secure_channel(server.address, node.identity.credentials(),
                                          options=OPTS)
        for ch in (node_ch, join_channel(server, "n2")):
            async with ch:
                for probe in (_health, _reflection_refused):
                    with pytest.raises(grpc.aio.AioRpcError) as exc:
                        await probe(ch)
                    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
                    assert "needs the admin credential" in (exc.value.details() or "")
        async with admin_channel(server) as ch:
            assert await _health(ch) == health_pb2.HealthCheckResponse.SERVING
            services = await _services(ch)
            assert {"dockyard.v1.Control", "dockyard.v1.Certificates", "dockyard.v1.Sessions",
                    "dockyard.v1.LogBroker"} <= set(services), services

    asyncio.run(scenario())


def test_publish_logs_always_checks_the_node(server: ServerProcess) -> None:
    async def scenario() -> None:
        node, task = await joined(server, "n1")
        await stop(task)
        async with grpc.aio.secure_channel(server.address, node.identity.credentials(),
                                           options=OPTS) as ch:
            logs = dispatcher_pb2_grpc.LogBrokerStub(ch)
            for claimed in ("", "n2"):
                async def one(node_field: str = claimed
                              ) -> AsyncIterator[dispatcher_pb2.PublishLogsMessage]:
                    yield dispatcher_pb2.PublishLogsMessage(
                        node=node_field, subscription_id="s", task_id="t", data=b"x")

                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await logs.PublishLogs(one(), timeout=10)
                assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED, claimed
                assert f"not {claimed or '(none)'}" in (exc.value.details() or "")

    asyncio.run(scenario())


def test_a_weak_join_token_stops_the_server_with_one_line(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port())
    srv.data_dir.mkdir()
    env = {**os.environ, "HOME": str(srv.home)}
    try:
        out = subprocess.run([*srv.argv(), "--join-token", "a"], capture_output=True,
                             text=True, timeout=60, env=env)
    finally:
        wait_port_free(srv.etcd_port)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --join-token refused: the join token's secret has 1 "
                           "characters; it needs at least 32"), out.stderr
    assert "Traceback" not in out.stderr


@pytest.fixture
def slow_joins(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port())
    srv.data_dir.mkdir()
    srv.start("--join-rate", "0.2/3")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


def test_joins_are_rate_limited_per_source_address(slow_joins: ServerProcess) -> None:
    async def scenario() -> list[grpc.StatusCode]:
        codes: list[grpc.StatusCode] = []
        for i in range(6):  # bounded: burst 3, then one per 5 s
            name = f"j{i}"
            async with join_channel(slow_joins, name) as ch:
                certs = dispatcher_pb2_grpc.CertificatesStub(ch)
                try:
                    await certs.Register(register(name, ident.Identity.fresh(name).csr()),
                                         timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.aio.AioRpcError as exc:
                    codes.append(exc.code())
                    assert "too many joins from 127.0.0.1; retry in" in (exc.details() or "")
        return codes

    codes = asyncio.run(scenario())
    assert codes[:3] == [grpc.StatusCode.OK] * 3
    assert codes[3:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    names = {r["name"] for r in json.loads(run_cli(slow_joins, "get", "nodes", "-o",
                                                   "json").stdout)}
    assert names == {"j0", "j1", "j2"}


def test_the_join_token_from_a_file_never_shows_in_the_process_list(
    server: ServerProcess, tmp_path: Path
) -> None:
    token = token_of(server)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    log = tmp_path / "agent.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli", "agent", "--join", server.address,
             "--token-file", str(token_file), "--name", "n9",
             "--state-dir", str(tmp_path / "state"), "--docker", "unix:///nonexistent"],
            stdout=out, stderr=out)
    try:
        # Right after the fork the child may not have exec'd yet: its cmdline is empty.
        deadline = time.monotonic() + 10
        cmdline = b""
        while b"--token-file" not in cmdline and time.monotonic() < deadline:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            time.sleep(0.02)
        assert b"--token-file" in cmdline
        _digest, secret = split_token(token)
        assert secret.encode() not in cmdline
        env = Path(f"/proc/{proc.pid}/environ").read_bytes()
        assert secret.encode() not in env
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert secret not in log.read_text()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never speaks TLS: a stalled server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_a_stalled_server_is_unreachable_not_a_refused_token(silent_server: str) -> None:
    token = "dyt1-" + "0" * 64 + "-" + "s" * 40
    with pytest.raises(ConnectionError, match="did not complete the TLS handshake"):
        ident.trusted_ca(silent_server, token, "n1")


def test_an_agent_keeps_retrying_a_stalled_server(silent_server: str, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    desc = objects_pb2.NodeDescription(name="n1", address="127.0.0.1")
    s = Session(addresses=[silent_server], token="dyt1-" + "0" * 64 + "-" + "s" * 40,
                description=desc, runner=FakeRunner(), batch=StatusBatch())  # type: ignore[arg-type]

    async def scenario() -> None:
        task = asyncio.create_task(s.run_forever())
        await asyncio.sleep(12)  # two handshake timeouts (5 s each) and their backoff
        assert not task.done(), task  # never exits, never calls the token invalid
        await stop(task)

    with caplog.at_level("WARNING", logger="dockyard.agent"):
        asyncio.run(scenario())
    retries = [r.getMessage() for r in caplog.records if "reconnecting in" in r.getMessage()]
    assert len(retries) >= 2, retries
    assert all("did not complete the TLS handshake" in m for m in retries), retries
    assert not any("invalid join token" in r.getMessage() for r in caplog.records)


def test_garbage_protobuf_is_refused_in_one_line_and_logs_no_traceback(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with admin_channel(server) as ch:
            for method in ("/dockyard.v1.Control/ListApps", "/dockyard.v1.Control/Apply",
                           "/dockyard.v1.Sessions/Heartbeat"):
                call = ch.unary_unary(method)
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await call(b"\xff\xff\xff\xff not protobuf", timeout=10)
                want = (grpc.StatusCode.UNAUTHENTICATED if "Sessions" in method
                        else grpc.StatusCode.INVALID_ARGUMENT)
                assert exc.value.code() == want, (method, exc.value.details())
                assert "\n" not in (exc.value.details() or "")

    asyncio.run(scenario())
    assert run_cli(server, "get", "apps").returncode == 0  # still serving
    assert "Traceback" not in (server.data_dir.parent / "server.log").read_text()
