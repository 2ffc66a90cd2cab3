"""20 MB of state (apps with large configs, events) survives a restart, and the
restarted server still schedules a new app: the mirror reads etcd in pages, and /healthz
says not-ready until it is in sync."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dockyard.client.control import load_credentials
from dockyard.v1 import control_pb2, control_pb2_grpc
from tests.integration.fill_state import CONFIG_BYTES
from tests.integration.harness import ServerProcess, run_cli
from tests.integration.test_security import joined, stop

pytestmark = pytest.mark.integration

STATE_MB = 20
SCHEDULED_WITHIN_S = 10.0


def fill(server: ServerProcess, megabytes: int) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "tests.integration.fill_state", server.address,
         str(server.credentials), f"http://127.0.0.1:{server.etcd_port}",
         str(server.data_dir), str(megabytes)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip())


def healthz(server: ServerProcess) -> tuple[int, str]:
    url = f"http://127.0.0.1:{server.http_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def first_task_node(server: ServerProcess, app: str, timeout_s: float) -> str:
    """Apply `app` over the Control API and wait until its task is placed on a node."""
    cert, key, ca = load_credentials(server.credentials)
    import grpc

    creds = grpc.ssl_channel_credentials(ca, key, cert)
    async with grpc.aio.secure_channel(
        server.address, creds, options=[("grpc.ssl_target_name_override", "dockyard-server")]
    ) as channel:
        stub = control_pb2_grpc.ControlStub(channel)
        from dockyard.client.compose import load_app

        text = f"name: {app}\nservices:\n  web:\n    image: 127.0.0.1:5000/busybox:latest\n"
        spec = load_app(text, read_file=lambda _p: b"", default_name=app).spec
        await stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=10)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            tasks = await stub.ListTasks(control_pb2.ListRequest(app=app), timeout=5)
            placed = [t.node for t in tasks.tasks if t.node]
            if placed:
                return str(placed[0])
            await asyncio.sleep(0.1)
    return ""


def test_twenty_mb_of_state_restarts_and_schedules_a_new_app(
    server: ServerProcess, tmp_path: Path
) -> None:
    written = fill(server, STATE_MB)
    assert written >= STATE_MB * 1_000_000
    server.stop()
    server.start()  # waits for /healthz 200: the mirror is in sync
    assert healthz(server) == (200, "ok\n")
    services = json.loads(run_cli(server, "get", "services", "-o", "json").stdout)
    apps = {s["app"] for s in services if s["app"].startswith("big")}
    assert len(apps) >= STATE_MB * 1_000_000 // CONFIG_BYTES

    async def scenario() -> str:
        _session, task = await joined(server, "n1")
        try:
            return await first_task_node(server, "fresh", SCHEDULED_WITHIN_S)
        finally:
            await stop(task)

    assert asyncio.run(scenario()) == "n1", server.log_tail()
    assert "mirror lost its watch" not in server.log_tail()
