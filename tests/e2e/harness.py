"""Helpers for e2e tests: the CLI against the testbed, engines per host, bounded waits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import docker.errors

from dockyard.common.polling import wait_for
from dockyard.deploy.testbed import TestbedStatus

__all__ = ["wait_for"]  # the e2e tests' bounded wait, shared with the benchmarks


def cli(bed: TestbedStatus, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args, "--server", bed.server,
         "--credentials", bed.credentials],
        capture_output=True, text=True, timeout=600,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"dockyard {' '.join(args)}: {out.stderr.strip()}")
    return out


def cli_json(bed: TestbedStatus, *args: str) -> Any:
    return json.loads(cli(bed, *args, "-o", "json").stdout)


def apply_text(bed: TestbedStatus, tmp: Path, text: str, *extra: str) -> str:
    f = tmp / "compose.yaml"
    f.write_text(text)
    return cli(bed, "apply", "-f", str(f), *extra).stdout


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amp" / "compose.yaml"


def example_secrets(tmp: Path) -> None:
    """Put the example's secret files beside a copy of its Compose file in `tmp`, where
    the file's relative paths look for them (kept when a test wrote its own)."""
    if not (tmp / "secrets").exists():
        shutil.copytree(EXAMPLE.parent / "secrets", tmp / "secrets")


def engine(bed: TestbedStatus, host: str) -> docker.DockerClient:
    h = next(h for h in bed.hosts if h.name == host)
    return docker.DockerClient(base_url=f"unix://{h.docker_socket}", timeout=30)


def engine_api(bed: TestbedStatus, host: str) -> str:
    """The Engine API version a host's engine speaks ("1.41")."""
    client = engine(bed, host)
    try:
        return str(client.version()["ApiVersion"])
    finally:
        client.close()


def engine_containers(bed: TestbedStatus, app: str) -> dict[str, list[dict[str, Any]]]:
    """Per host, the app's containers as that host's engine reports them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for h in bed.hosts:
        client = engine(bed, h.name)
        found = []
        try:
            for c in client.api.containers(all=True, filters={"label": f"io.dockyard.app={app}"}):
                try:
                    found.append(client.api.inspect_container(c["Id"]))
                except docker.errors.NotFound:
                    pass  # removed between the listing and the look
        finally:
            client.close()
        out[h.name] = found
    return out


def running_tasks(bed: TestbedStatus, app: str) -> list[dict[str, Any]]:
    tasks = cli_json(bed, "get", "tasks", "--app", app)
    return [t for t in tasks if t["state"] == "running" and t["desired"] == "running"]
