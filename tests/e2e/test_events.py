"""End-to-end: `dockyard events -f` follows what an apply and a drain do on real hosts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, running_tasks, wait_for

pytestmark = pytest.mark.e2e


def sleepers(image: str) -> str:
    return f"""
name: evented
services:
  sleeper:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
"""


def test_events_follow_an_apply_and_a_drain(bed: TestbedStatus, tmp_path: Path) -> None:
    follow = subprocess.Popen(
        [sys.executable, "-m", "dockyard.cli", "events", "-f", "--app", "evented", "-o", "json",
         "--server", bed.server, "--credentials", bed.credentials],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[dict[str, Any]] = []

    def read() -> None:
        assert follow.stdout is not None
        for line in follow.stdout:
            seen.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    drained = ""
    try:
        apply_text(bed, tmp_path, sleepers(bed.image))
        wait_for("the apply's event", lambda: any(
            e["kind"] == "app" and "sleeper created" in e["message"] for e in seen),
            timeout_s=30)
        tasks = wait_for("2 running", lambda: (t := running_tasks(bed, "evented"))
                         and len(t) == 2 and t, timeout_s=60)
        drained = tasks[0]["node"]
        cli(bed, "node", "drain", drained)
        moved = wait_for("the drain's event", lambda: [
            e for e in seen if e["kind"] == "task" and f"off drained node {drained}"
            in e["message"]], timeout_s=30)
        assert all(e["app"] == "evented" for e in seen), seen
        assert moved[0]["object"] in {t["id"] for t in tasks}
    finally:
        if drained:
            cli(bed, "node", "activate", drained)
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=20)
        reader.join(timeout=5)
        cli(bed, "delete", "app", "evented")
    assert follow.stderr is not None
    err = follow.stderr.read()
    assert follow.returncode == 130
    assert "Traceback" not in err
