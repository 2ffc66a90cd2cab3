"""The foundation, as a user meets it: apply, get, describe, delete, errors, restarts."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.harness import ServerProcess, run_cli

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amp" / "compose.yaml"

SMALL = """
name: shop
services:
  db:
    image: 127.0.0.1:5000/busybox:latest
    command: ["sleep", "3600"]
  web:
    image: 127.0.0.1:5000/busybox:latest
    command: ["httpd", "-f", "-p", "80"]
    depends_on: [db]
    deploy:
      replicas: 3
"""


def apps_json(server: ServerProcess) -> list[dict[str, object]]:
    out = run_cli(server, "get", "apps", "-o", "json").stdout
    apps: list[dict[str, object]] = json.loads(out)
    return apps


def test_apply_then_get_shows_the_app(server: ServerProcess) -> None:
    out = run_cli(server, "apply", "-f", str(EXAMPLE)).stdout
    assert "amp/db created" in out and "amp/web created" in out
    apps = apps_json(server)
    assert [a["name"] for a in apps] == ["amp"]
    services = json.loads(run_cli(server, "get", "services", "-o", "json").stdout)
    assert {s["service"] for s in services} == {"db", "php", "web"}


def test_reapply_is_idempotent_and_reports_per_service(
    server: ServerProcess, tmp_path: Path
) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text(SMALL)
    run_cli(server, "apply", "-f", str(f))
    again = run_cli(server, "apply", "-f", str(f)).stdout
    assert "shop/db unchanged" in again and "shop/web unchanged" in again
    f.write_text(SMALL.replace("replicas: 3", "replicas: 5"))
    changed = run_cli(server, "apply", "-f", str(f)).stdout
    assert "shop/web updated" in changed and "shop/db unchanged" in changed
    f.write_text(SMALL.split("  web:")[0])
    removed = run_cli(server, "apply", "-f", str(f)).stdout
    assert "shop/web removed" in removed


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("name: x\nservices:\n  a:\n    image: busybox\n    depends_on: [b]\n"
         "  b:\n    image: busybox\n    depends_on: [a]\n", "cycle"),
        ("name: x\nservices:\n  a:\n    image: busybox\n    depends_on: [nope]\n", "nope"),
        ("name: x\nservices:\n  a:\n    image: busybox\n    privileged: true\n", "privileged"),
        ("name: x\nservices: [\n", "yaml"),
        ("name: x\nservices:\n  a:\n    image: 'UPPER/Case::bad'\n", "image"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(
    server: ServerProcess, tmp_path: Path, body: str, needle: str
) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text(body)
    out = run_cli(server, "apply", "-f", str(f), check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert needle in out.stderr.lower()
    assert "Traceback" not in out.stderr
    assert apps_json(server) == []


def test_config_prints_the_normalized_app_and_stores_nothing(server: ServerProcess) -> None:
    out = run_cli(server, "config", "-f", str(EXAMPLE)).stdout
    assert "name: amp" in out and "service_healthy" in out
    assert apps_json(server) == []


def test_describe_and_delete(server: ServerProcess) -> None:
    run_cli(server, "apply", "-f", str(EXAMPLE))
    d = json.loads(run_cli(server, "describe", "app", "amp", "-o", "json").stdout)
    assert d["waves"] == [["db"], ["php"], ["web"]]
    php = next(s for s in d["services"] if s["service"] == "php")
    assert php["waiting_on"].startswith("waiting on db")
    assert "deleted" in run_cli(server, "delete", "app", "amp").stdout
    assert "not found" in run_cli(server, "delete", "app", "amp").stdout
    assert apps_json(server) == []


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    from dockyard.controlplane.security import pki

    cred = tmp_path / "admin.pem"
    cred.write_text(pki.admin_bundle(pki.create_ca()))
    dead = ServerProcess(Path("/nonexistent"), 1, 1, 1)
    out = run_cli(dead, "get", "apps", check=False, credentials=cred)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: server unreachable at 127.0.0.1:1"


def test_kill_9_and_restart_keeps_every_app_exactly(server: ServerProcess, tmp_path: Path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text(SMALL)
    run_cli(server, "apply", "-f", str(EXAMPLE))
    run_cli(server, "apply", "-f", str(f))
    before = run_cli(server, "get", "services", "-o", "json").stdout
    apps_before = [(a["name"], a["spec_hash"]) for a in apps_json(server)]
    server.stop(signal.SIGKILL)
    from tests.integration.harness import wait_port_free

    wait_port_free(server.etcd_port)
    server.start()
    assert [(a["name"], a["spec_hash"]) for a in apps_json(server)] == apps_before
    after = run_cli(server, "get", "services", "-o", "json").stdout
    strip = lambda text: [  # noqa: E731 - status counts are observations, not intent
        {k: v for k, v in s.items() if k not in ("running", "healthy", "waiting_on")}
        for s in json.loads(text)
    ]
    assert strip(after) == strip(before)


def test_sigterm_stops_server_and_its_etcd(server: ServerProcess) -> None:
    assert server.stop(signal.SIGTERM) == 0
    import socket

    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", server.etcd_port)) != 0


def test_health_metrics_and_grpc_health(server: ServerProcess) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/healthz", timeout=5) as r:
        assert r.read() == b"ok\n"
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/metrics", timeout=5) as r:
        assert b"dockyard_agent_sessions" in r.read()
    from dockyard.client.control import load_credentials

    cert, key, ca = load_credentials(server.credentials)
    creds = grpc.ssl_channel_credentials(ca, key, cert)
    opts = [("grpc.ssl_target_name_override", "dockyard-server")]
    with grpc.secure_channel(server.address, creds, options=opts) as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
