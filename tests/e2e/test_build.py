"""End-to-end: a service with only `build:` is built, pushed to the testbed's registry, run
by digest on a testbed host and serves its page; a changed page is built again and rolls
the service; an unchanged one builds nothing. Built by a node's engine (no engine on
this machine's root namespace) and, with DOCKER_HOST, by "the local engine"; a failing
RUN step and an unreachable registry are one line each, and nothing is stored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from dockyard.agent.runtime.docker.create import START_INTERVAL_API, api_at_least
from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from dockyard.deploy.testbed.processes import signal_pid, wait_gone
from dockyard.deploy.testbed.state import load
from tests.e2e.conftest import BED_ARGS
from tests.e2e.harness import (
    cli,
    cli_json,
    engine,
    engine_api,
    engine_containers,
    running_tasks,
    wait_for,
)

pytestmark = pytest.mark.e2e

PORT = 8093


def compose(app: str, port: int = PORT) -> str:
    return f"""
name: {app}
services:
  web:
    build:
      context: ./web
      args: {{BASE: base}}
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["{port}:80"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 30s
      start_period: 20s
      start_interval: 1s
"""


def write_app(tmp: Path, bed: TestbedStatus, app: str, page: str, run: str = "") -> Path:
    web = tmp / "web"
    web.mkdir(exist_ok=True)
    (web / "index.html").write_text(page)
    steps = f"RUN {run}\n" if run else ""
    (web / "Dockerfile").write_text(
        f"ARG BASE\nFROM {bed.image}\n{steps}COPY index.html /www/index.html\n")
    f = tmp / "compose.yaml"
    f.write_text(compose(app))
    return f


def dockyard(bed: TestbedStatus, *args: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    """The CLI with an environment of its own (DOCKER_HOST decides where builds run)."""
    full = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    full.update(env or {"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args, "--server", bed.server,
         "--credentials", bed.credentials],
        capture_output=True, text=True, timeout=600, env=full)


def page(url: str) -> str | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=3) as resp:
            return str(resp.read().decode())
    except OSError:
        return None


def served(bed: TestbedStatus, app: str, text: str) -> str:
    def check() -> str | None:
        tasks = running_tasks(bed, app)
        if len(tasks) != 1:
            return None
        host = next(h for h in bed.hosts if h.name == tasks[0]["node"])
        got = page(f"http://{host.address}:{PORT}/")
        return got if got and text in got else None

    return str(wait_for(f"{app}'s page saying {text!r}", check, timeout_s=90))


def web_image(bed: TestbedStatus, app: str) -> str:
    services = cli_json(bed, "get", "services", "--app", app)
    assert len(services) == 1, services
    return str(services[0]["image"])


def test_build_only_service_is_built_pushed_and_served(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    app = "built"
    f = write_app(tmp_path, bed, app, "<p>first page</p>\n")
    try:
        out = dockyard(bed, "apply", "-f", str(f), "-o", "json")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["builds"][0]["action"] == "built", result
        assert result["builds"][0]["where"].startswith("node h"), result
        assert "build web: Step 1/" in out.stderr
        first = result["builds"][0]["image"]
        assert first.startswith(f"{bed.registry}/{app}/web@sha256:"), first
        served(bed, app, "first page")
        assert web_image(bed, app) == first
        containers = [c for found in engine_containers(bed, app).values() for c in found]
        assert len(containers) == 1
        assert containers[0]["Config"]["Image"] == first
        # healthcheck.start_interval (which the docker SDK cannot say) reaches an engine
        # that reads it; of older engines (the testbed's Debian one) apply warns, one line
        node = next(h.name for h in bed.hosts if h.name == running_tasks(bed, app)[0]["node"])
        api = engine_api(bed, node)
        if api_at_least(api, START_INTERVAL_API):
            assert containers[0]["Config"]["Healthcheck"]["StartInterval"] == 1_000_000_000
        else:
            notes = [x for x in out.stderr.splitlines() if "start_interval" in x]
            assert len(notes) == 1, out.stderr
            assert notes[0].startswith("warning: service web: healthcheck.start_interval is "
                                       "not applied on h1, h2, h3: ")

        again = dockyard(bed, "apply", "-f", str(f))
        assert again.returncode == 0, again.stderr
        assert "unchanged context, not built" in again.stderr
        assert "Step 1/" not in again.stderr
        assert f"{app}/web unchanged" in again.stdout

        write_app(tmp_path, bed, app, "<p>second page</p>\n")
        dry = dockyard(bed, "apply", "-f", str(f), "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would build" in dry.stderr
        assert f"{app}/web would be updated" in dry.stdout
        assert web_image(bed, app) == first, "a dry run stored something"

        h1 = next(h for h in bed.hosts if h.name == "h1")
        local = dockyard(bed, "apply", "-f", str(f), "-o", "json",
                         env={"DOCKER_HOST": f"unix://{h1.docker_socket}"})
        assert local.returncode == 0, local.stderr
        second = json.loads(local.stdout)["builds"][0]
        assert second["where"] == "local engine", second
        assert second["image"] != first
        served(bed, app, "second page")
        assert web_image(bed, app) == second["image"]
    finally:
        cli(bed, "delete", "app", app)


def test_failed_builds_are_one_line_and_store_nothing(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    app = "badbuild"
    f = write_app(tmp_path, bed, app, "<p>never</p>\n", run="false")
    out = dockyard(bed, "apply", "-f", str(f))
    assert out.returncode == 1
    lines = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, out.stderr
    assert "service web: build failed at step 3/4 (RUN false)" in lines[0], lines
    assert "Traceback" not in out.stderr

    write_app(tmp_path, bed, app, "<p>never</p>\n")
    (tmp_path / "web" / "Dockerfile").unlink()
    missing = dockyard(bed, "apply", "-f", str(f))
    assert missing.returncode == 1
    assert "service web: no Dockerfile 'Dockerfile' in the build context" in missing.stderr

    assert cli_json(bed, "get", "apps", "--app", app) == []


def test_an_unreachable_registry_is_one_line_and_stores_nothing(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    """The registry dies between the build and the push: built by the local engine and
    by a node's, each apply ends in one line naming the service and the registry, and
    nothing is stored. The testbed's own `up` brings the registry back (its images are
    on disk) for the tests after this one, whatever happened here."""
    app = "noregistry"
    f = write_app(tmp_path, bed, app, "<p>never pushed</p>\n")
    for h in bed.hosts:  # the FROM image stays at hand on every engine without the registry
        client = engine(bed, h.name)
        try:
            client.images.pull(bed.image)
        finally:
            client.close()
    state = load(Path(bed.state_dir) / "state.json")
    assert state is not None and "registry" in state.processes
    pid = state.processes["registry"].pid
    signal_pid(pid, signal.SIGKILL)
    try:
        assert wait_gone([pid], timeout=10) == []
        assert page(f"http://{bed.registry}/v2/") is None, "the registry still answers"
        h1 = next(h for h in bed.hosts if h.name == "h1")
        for where, env in [("local engine", {"DOCKER_HOST": f"unix://{h1.docker_socket}"}),
                           ("a node", None)]:
            out = dockyard(bed, "apply", "-f", str(f), env=env)
            assert out.returncode == 1, (where, out.stdout, out.stderr)
            errors = [x for x in out.stderr.splitlines() if x.startswith("error:")]
            assert len(errors) == 1, (where, out.stderr)
            assert errors[0].startswith(f"error: service web: push to {bed.registry} failed: "
                                        ), (where, errors)
            assert "Traceback" not in out.stderr
            assert cli_json(bed, "get", "apps", "--app", app) == [], where
    finally:
        testbed.up(**BED_ARGS, progress=lambda _m: None)
    assert page(f"http://{bed.registry}/v2/") is not None
