"""End-to-end: updates that protect themselves, on real hosts. A new version whose
healthcheck fails rolls back by itself (failure_action: rollback) while the old version
answers every request; `apply --wait` says why in one line; `history` lists the
versions; `rollback --to 1 --wait` brings the first version back."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import cli, cli_json, running_tasks

pytestmark = pytest.mark.e2e

PORT = 8181


def guarded(image: str, version: str, *, check: str = "true") -> str:
    """A page that says its version, on every node it runs on; `check` is its health."""
    serve = (f"mkdir -p /tmp/www && echo {version} > /tmp/www/index.html"
             f" && exec httpd -f -p {PORT} -h /tmp/www")
    return f"""
name: guard
services:
  web:
    image: {image}
    command: ["sh", "-c", "{serve}"]
    stop_signal: SIGKILL
    ports: ["{PORT}:{PORT}"]
    healthcheck: {{test: ["CMD", "{check}"], interval: 1s, retries: 2}}
    deploy:
      replicas: 2
      update_config: {{parallelism: 1, order: start-first, failure_action: rollback, monitor: 3s}}
"""


def page(address: str) -> str | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}:{PORT}/", timeout=2) as r:
            return str(r.read().decode()).strip()
    except OSError:
        return None


def settled_pages(addresses: list[str]) -> set[str | None]:
    """The page each address serves once it answers, asked for up to 10 s each: a node's
    published port follows the endpoint table, which reaches it up to half a second
    after a new task is up."""
    pages: set[str | None] = set()
    for address in addresses:
        deadline = time.monotonic() + 10
        answer = page(address)
        for _ in range(40):  # bounded: 40 x 0.25 s
            if answer is not None or time.monotonic() > deadline:
                break
            time.sleep(0.25)
            answer = page(address)
        pages.add(answer)
    return pages


def addresses_of(bed: TestbedStatus, tasks: list[dict[str, object]]) -> list[str]:
    nodes = {n["name"]: n["address"] for n in cli_json(bed, "get", "nodes")}
    return [str(nodes[t["node"]]) for t in tasks]


def test_an_unhealthy_update_rolls_back_by_itself_and_rollback_restores_a_version(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text(guarded(bed.image, "v1"))
    try:
        out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "120").stdout
        assert "app guard is up" in out
        first = running_tasks(bed, "guard")
        assert len(first) == 2
        old_pages = addresses_of(bed, first)
        assert settled_pages(old_pages) == {"v1"}

        # v2 serves a page but fails its healthcheck: it must never take over.
        f.write_text(guarded(bed.image, "v2", check="false"))
        update = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli", "apply", "-f", str(f), "--wait",
             "--timeout", "150", "--server", bed.server, "--credentials", bed.credentials],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        answers: list[str | None] = []
        deadline = time.monotonic() + 180
        while update.poll() is None and time.monotonic() < deadline:
            answers += [page(a) for a in old_pages]
            time.sleep(0.25)
        if update.poll() is None:
            update.kill()
        stdout, stderr = update.communicate(timeout=30)
        assert update.returncode == 1, (stdout, stderr)
        assert len(answers) >= 8, "the update ended before the page was polled"
        assert set(answers) == {"v1"}, f"the old version stopped answering: {answers}"
        assert "Traceback" not in stderr
        # the loader's warning about the published port, then the one line of the failure
        [line] = [ln for ln in stderr.splitlines() if not ln.startswith("warning: ")]
        assert line.startswith("error: the update of guard failed: web.")
        assert "unhealthy" in line and "rolled back to the previous version" in line, line

        now = running_tasks(bed, "guard")
        assert {t["id"] for t in now} == {t["id"] for t in first}, "an old task was replaced"
        [web] = cli_json(bed, "get", "services", "--app", "guard")
        assert web["update"] == "rolled back"
        events = [e["message"] for e in cli_json(bed, "describe", "app", "guard")["events"]]
        assert any("rolling back to the previous version" in m for m in events), events
        assert "web rolled back to the previous version" in events
        described = cli(bed, "describe", "app", "guard").stdout
        assert "update: rolled back: web." in described

        rows = cli_json(bed, "history", "guard")
        assert [r["version"] for r in rows] == [1, 2]
        assert rows[1]["changes"] == ["web updated: command, healthcheck changed"]
        assert [r["current"] for r in rows] == [True, False]  # web runs version 1 again

        # A good v3, then a manual rollback to version 1.
        f.write_text(guarded(bed.image, "v3"))
        out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "120").stdout
        assert "app guard is up" in out
        assert settled_pages(addresses_of(bed, running_tasks(bed, "guard"))) == {"v3"}
        back = cli(bed, "rollback", "guard", "--to", "1", "--wait", "--timeout", "120").stdout
        assert "app guard rolling back: version 4" in back and "app guard is up" in back
        serving = running_tasks(bed, "guard")
        assert len(serving) == 2
        assert settled_pages(addresses_of(bed, serving)) == {"v1"}
        rows = cli_json(bed, "history", "guard")
        assert [(r["version"], r["source"], r["current"]) for r in rows] == [
            (1, "apply", False), (2, "apply", False), (3, "apply", False),
            (4, "rollback to 1", True)]
        table = cli(bed, "history", "guard").stdout
        assert "rollback to 1" in table
    finally:
        cli(bed, "delete", "app", "guard")
