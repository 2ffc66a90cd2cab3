"""End-to-end: `apply --wait` of a changed file follows the rolling update to its end on
real hosts (it used to count the old tasks as healthy and return at once), and ends with
the reason when the new version fails and the control plane pauses the update while the
old one keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, cli_json, running_tasks

pytestmark = pytest.mark.e2e


def waiter(image: str, version: str, command: str = '["sleep", "86400"]') -> str:
    return f"""
name: waited
services:
  worker:
    image: {image}
    command: {command}
    stop_signal: SIGKILL
    environment: {{VERSION: "{version}"}}
    healthcheck: {{test: ["CMD", "true"], interval: 1s}}
    deploy:
      replicas: 3
      update_config: {{parallelism: 1, order: start-first}}
"""


def test_apply_wait_returns_only_when_every_task_runs_the_new_version(
    bed: TestbedStatus, tmp_path: Path
) -> None:
    f = tmp_path / "compose.yaml"
    try:
        apply_text(bed, tmp_path, waiter(bed.image, "1"), "--wait", "--timeout", "120")
        first = {t["id"] for t in running_tasks(bed, "waited")}
        assert len(first) == 3

        f.write_text(waiter(bed.image, "2"))
        out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "120")
        assert "waited/worker updated: new spec" in out.stdout
        assert "is up in" in out.stdout
        now = [t for t in cli_json(bed, "get", "tasks", "--app", "waited")
               if t["desired"] == "running"]
        assert len(now) == 3, now
        assert not {t["id"] for t in now} & first, "an old task was still counted"
        assert all(t["state"] == "running" and t["health"] == "healthy" for t in now), now

        f.write_text(waiter(bed.image, "3", command='["sh", "-c", "exit 1"]'))
        bad = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "120", check=False)
        assert bad.returncode == 1
        assert "the update of waited failed: worker.1 " in bad.stderr
        # failure_action defaults to pause: the control plane stops the update and says so
        assert "the update is paused and the previous version still serves" in bad.stderr
        assert "Traceback" not in bad.stderr
        serving = {t["id"] for t in running_tasks(bed, "waited")}
        assert serving & {t["id"] for t in now}, "the previous version stopped serving"
    finally:
        cli(bed, "delete", "app", "waited")
