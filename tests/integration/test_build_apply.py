"""`apply` of `build:` services and `apply --dry-run` against a real server: the CLI learns
the registry from the server, every unusable build is one line naming the service, and
neither a failed build nor a dry run stores anything. (Building and pushing for real is
tests/e2e/test_build.py, on the testbed's engines.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.client.control import control_stub
from dockyard.v1 import control_pb2
from tests.integration.harness import ServerProcess, free_port, free_port_pair, wait_port_free

pytestmark = pytest.mark.integration

IMAGE = "127.0.0.1:5000/busybox:latest"


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("builds")
    srv = ServerProcess(root / "data", free_port(), free_port(), free_port_pair())
    srv.data_dir.mkdir()
    # A registry nobody listens on: nothing here may reach it.
    srv.start("--registry", f"127.0.0.1:{free_port()}")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


def dockyard(srv: ServerProcess, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env.update(DOCKYARD_SERVER=srv.address, DOCKYARD_CREDENTIALS=str(srv.credentials),
               DOCKER_HOST="unix:///nonexistent/docker.sock")  # no local engine
    return subprocess.run([sys.executable, "-m", "dockyard.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def app_file(tmp: Path, name: str, build: str, *, dockerfile: bool = True) -> None:
    (tmp / "compose.yaml").write_text(f"""
name: {name}
services:
  web:
    build: {build}
    ports: ["8080:80"]
  cache:
    image: {IMAGE}
""")
    (tmp / "web").mkdir(exist_ok=True)
    (tmp / "web" / "index.html").write_text("hello")
    if dockerfile:
        (tmp / "web" / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY index.html /www/\n")


def stored_apps(srv: ServerProcess) -> list[str]:
    stub = control_stub(srv.address, srv.credentials)
    return [a.meta.id for a in stub.ListApps(control_pb2.ListRequest(), timeout=10).apps]


def one_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 1, out.stdout
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    return errors[0]


def test_the_cli_learns_the_registry_from_the_server(registry_server: ServerProcess) -> None:
    stub = control_stub(registry_server.address, registry_server.credentials)
    info = stub.ClusterInfo(control_pb2.ClusterInfoRequest(), timeout=10)
    assert info.registry.startswith("127.0.0.1:")


def test_without_a_registry_a_build_is_refused_in_one_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    app_file(tmp_path, "noreg", "./web")
    line = one_error(dockyard(server, "apply", cwd=tmp_path))
    assert "service web has build: the cluster has no registry" in line
    assert "--registry HOST:PORT" in line
    assert stored_apps(server) == []


@pytest.mark.parametrize(("build", "dockerfile", "expected"), [
    ("./missing", True, "service web: build context './missing': no such folder"),
    ("./web", False, "service web: no Dockerfile 'Dockerfile' in the build context"),
    ("{context: ./web, dockerfile: ../Dockerfile}", True,
     "service web: build dockerfile '../Dockerfile' must be inside the build context"),
    ("https://example.invalid/app.git", True, "is a URL; Dockyard builds from a folder"),
    # a usable context, but no engine here and no node to build on
    ("./web", True, "service web: no node can build: no ready node holds a session"),
])
def test_unusable_build_contexts_are_one_line_and_store_nothing(
    registry_server: ServerProcess, tmp_path: Path, build: str, dockerfile: bool, expected: str
) -> None:
    app_file(tmp_path, "badctx", build, dockerfile=dockerfile)
    line = one_error(dockyard(registry_server, "apply", cwd=tmp_path))
    assert expected in line
    assert "badctx" not in stored_apps(registry_server)


def test_dry_run_says_what_would_be_built_and_changed_and_stores_nothing(
    registry_server: ServerProcess, tmp_path: Path
) -> None:
    app_file(tmp_path, "dry", "./web")
    out = dockyard(registry_server, "apply", "--dry-run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "build web: would build 2 files into 127.0.0.1:" in out.stderr
    assert "dry/web would be created" in out.stdout
    assert "dry/cache would be created" in out.stdout
    assert "dry run: nothing was built or stored" in out.stdout
    as_json = dockyard(registry_server, "apply", "--dry-run", "-o", "json", cwd=tmp_path)
    result = json.loads(as_json.stdout)
    assert result["dry_run"] is True
    assert result["builds"][0]["action"] == "would build"
    assert {c["service"]: c["action"] for c in result["changes"]} == {
        "web": "created", "cache": "created"}
    assert "dry" not in stored_apps(registry_server)


def test_dry_run_of_a_stored_app_names_only_what_changes(
    registry_server: ServerProcess, tmp_path: Path
) -> None:
    text = f"""
name: dryagain
services:
  web: {{image: {IMAGE}, environment: {{MODE: one}}}}
  db: {{image: {IMAGE}}}
"""
    (tmp_path / "compose.yaml").write_text(text)
    assert dockyard(registry_server, "apply", cwd=tmp_path).returncode == 0
    (tmp_path / "compose.yaml").write_text(text.replace("MODE: one", "MODE: two"))
    out = dockyard(registry_server, "apply", "--dry-run", "-o", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    changes = {c["service"]: c["action"] for c in json.loads(out.stdout)["changes"]}
    assert changes == {"web": "updated", "db": "unchanged"}
    stub = control_stub(registry_server.address, registry_server.credentials)
    stored = stub.GetApp(control_pb2.GetAppRequest(name="dryagain"), timeout=10)
    web = next(s for s in stored.spec.services if s.name == "web")
    assert web.environment["MODE"] == "one", "the dry run stored the change"
