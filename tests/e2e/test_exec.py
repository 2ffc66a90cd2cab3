"""End-to-end: `dockyard exec` runs commands in containers on the testbed's hosts, through
the server and the node's session, with output, exit code, input and a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, engine_containers, running_tasks, wait_for

pytestmark = pytest.mark.e2e


def shell_app(image: str) -> str:
    return f"""
name: shell
services:
  box:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
"""


def dockyard(bed: TestbedStatus, *args: str, stdin: bytes = b""
             ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "exec", "--server", bed.server,
         "--credentials", bed.credentials, *args], input=stdin, capture_output=True,
        timeout=120)


@pytest.fixture(scope="module")
def shell(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[TestbedStatus]:
    apply_text(bed, tmp_path_factory.mktemp("exec"), shell_app(bed.image))
    try:
        wait_for("2 running", lambda: len(running_tasks(bed, "shell")) == 2, timeout_s=120)
        yield bed
    finally:
        cli(bed, "delete", "app", "shell", check=False)


def test_output_streams_and_exit_code(shell: TestbedStatus) -> None:
    out = dockyard(shell, "shell/box", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert out.returncode == 7
    assert (out.stdout, out.stderr) == (b"out\n", b"err\n")


def test_the_command_runs_in_the_slots_container_on_its_node(shell: TestbedStatus) -> None:
    tasks = {t["slot"]: t for t in running_tasks(shell, "shell")}
    containers = engine_containers(shell, "shell")
    for slot, task in tasks.items():
        out = dockyard(shell, f"shell/box/{slot}", "--", "hostname")
        assert out.returncode == 0, out.stderr.decode()
        on_node = [c for c in containers[task["node"]]
                   if c["Config"]["Hostname"] == out.stdout.decode().strip()]
        assert on_node and on_node[0]["Id"].startswith(task["container_id"][:12])


def test_stdin_is_passed_whole_and_ends(shell: TestbedStatus) -> None:
    data = os.urandom(300_000)
    out = dockyard(shell, "-i", "shell/box", "--", "sh", "-c", "cat > /tmp/in; wc -c < /tmp/in",
                   stdin=data)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().strip() == str(len(data))
    same = dockyard(shell, "-i", "shell/box", "--", "cat", stdin=data[:100_000])
    assert same.stdout == data[:100_000]


def test_an_interactive_terminal_and_the_local_one_restored(shell: TestbedStatus) -> None:
    leader, follower = pty.openpty()
    before = termios.tcgetattr(follower)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard.cli", "exec", "-it", "--server", shell.server,
         "--credentials", shell.credentials, "shell/box", "--", "sh"],
        stdin=follower, stdout=follower, stderr=follower)
    seen = b""
    try:
        os.write(leader, b"tty; echo answer=$((6*7)); exit 5\n")
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        proc.wait(timeout=30)
        assert proc.returncode == 5, seen.decode("utf-8", "replace")
        assert b"answer=42" in seen and b"/dev/pts/" in seen
        assert termios.tcgetattr(follower) == before  # raw mode undone
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
        os.close(follower)


def test_a_missing_program_is_the_engines_answer(shell: TestbedStatus) -> None:
    out = dockyard(shell, "shell/box", "--", "no-such-program")
    assert out.returncode in (126, 127), (out.returncode, out.stderr)
    assert b"no-such-program" in out.stdout + out.stderr
