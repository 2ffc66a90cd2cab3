"""The agent's bounded stop (agent/cli.py): an agent whose container engine hangs still
exits on SIGTERM within its stop limit.

A call into a hung engine holds a worker thread that nothing can cancel, and asyncio's
own teardown waits for such threads without end; the agent's watchdog ends the process
once its stop has taken as long as its steps' bounds allow. Here the agent is the real
Runner, Session and stop over the in-memory runtime made to hang
(tests/integration/hanging_agent.py), joined to a real server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.agent.cli import STOP_LIMIT_S
from tests.integration.harness import ServerProcess
from tests.integration.test_security import token_of

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while text not in log.read_text(errors="replace"):  # bounded in time
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {text!r}: {log.read_text()[-3000:]}"
        time.sleep(0.1)


def test_an_agent_with_a_hung_engine_exits_within_its_stop_limit_on_sigterm(
        server: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.hanging_agent", server.address,
             token_of(server), "hung1", str(tmp_path / "state")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        _wait_for(log, "registered with", proc, 60)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_LIMIT_S + 10)  # the bound, and time to exit
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert "stopping: still not stopped after" in text, text[-3000:]  # the engine held it
    assert code == 1, text[-3000:]
