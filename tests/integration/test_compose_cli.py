"""`dockyard config` and `apply` with Compose files as people keep them: several -f files,
an override beside the file, stdin, profiles, every problem at once, and the gate on
privileged keys, enforced by a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import ServerProcess, free_port, run_cli, wait_port_free

pytestmark = pytest.mark.integration

IMAGE = "127.0.0.1:5000/busybox:latest"
BASE = f"""
services:
  web:
    image: {IMAGE}
    command: ["httpd", "-f", "-p", "80"]
    environment: {{MODE: base}}
    ports: ["8080:80"]
  debug:
    image: {IMAGE}
    profiles: [debug]
"""
OVERRIDE = """
services:
  web:
    environment: {MODE: override, EXTRA: "1"}
    ports: ["8443:443"]
"""
PRIVILEGED = f"""
name: priv
services:
  tool:
    image: {IMAGE}
    privileged: true
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
"""


def dockyard(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"}
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args], cwd=cwd, input=stdin,
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_default_file_and_override_are_merged(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(BASE)
    (tmp_path / "compose.override.yaml").write_text(OVERRIDE)
    out = dockyard("config", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "MODE: override" in out.stdout and 'EXTRA: "1"' in out.stdout
    assert "published: 8080" in out.stdout and "published: 8443" in out.stdout
    assert "debug:" not in out.stdout  # its profile is not enabled


def test_several_files_in_order_stdin_and_profiles(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    out = dockyard("config", "-f", "base.yaml", "-f", "-", "--profile", "debug",
                   cwd=tmp_path, stdin=OVERRIDE)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "MODE: override" in out.stdout
    assert "  debug:" in out.stdout


def test_no_file_here_is_one_line(tmp_path: Path) -> None:
    out = dockyard("config", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr == (
        "error: no Compose file: pass -f FILE, or run where compose.yaml or "
        "docker-compose.yml is\n"
    )


def test_every_problem_is_printed_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web: {image: nginx, privilegd: true, ports: [abc]}\n"
        "  db: {image: Postgres, gpus: all}\n"
    )
    out = dockyard("config", cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines == [
        'error: compose.yaml: service "web": unknown key "privilegd"',
        'error: compose.yaml: service "web": ports[0]: invalid port "abc"',
        'error: compose.yaml: service "db": "gpus" is not supported by Dockyard: the '
        "scheduler does not place GPUs",
        'error: compose.yaml: service "db": image: bad image reference "Postgres": the '
        "repository name must be lowercase",
        "error: compose.yaml: 4 problems; nothing was applied",
    ]


def test_privileged_keys_need_an_allowance(server: ServerProcess, tmp_path: Path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text(PRIVILEGED)
    refused = run_cli(server, "apply", "-f", str(f), check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: app 'priv' needs privileges not allowed: host-binds (service tool); "
        "privileged (service tool); apply with --allow host-binds,privileged or start the "
        "server with --allow host-binds,privileged\n"
    )
    assert json.loads(run_cli(server, "get", "apps", "-o", "json").stdout) == []
    partly = run_cli(server, "apply", "-f", str(f), "--allow", "privileged", check=False)
    assert "host-binds (service tool)" in partly.stderr
    assert "privileged (service" not in partly.stderr
    run_cli(server, "apply", "-f", str(f), "--allow", "privileged,host-binds")
    apps = json.loads(run_cli(server, "get", "apps", "-o", "json").stdout)
    assert [a["name"] for a in apps] == ["priv"]


def test_a_cluster_wide_allowance(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port())
    srv.data_dir.mkdir()
    srv.start("--allow", "privileged", "--allow", "host-binds")
    try:
        f = tmp_path / "compose.yaml"
        f.write_text(PRIVILEGED)
        run_cli(srv, "apply", "-f", str(f))
        f.write_text(PRIVILEGED.replace("privileged: true", "devices: [/dev/fuse]"))
        out = run_cli(srv, "apply", "-f", str(f), check=False)
        assert "needs privileges not allowed: devices (service tool)" in out.stderr
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop(signal.SIGKILL)
        wait_port_free(srv.etcd_port)
