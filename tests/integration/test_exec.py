"""`dockyard exec` end to end over hollow nodes: the real CLI, server, sessions and agents;
only the container runtime is the in-memory one, whose exec knows `echo`, `cat`, `tty`
and `exit N`. The Docker side is covered on the testbed (tests/e2e/test_exec.py)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.integration

APP = """
name: shop
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    deploy:
      replicas: 2
"""


def run(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                          input=stdin, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("exec")
    env = {**os.environ, "DOCKYARD_HOLLOW_DIR": str(tmp / "hollow"), "HOME": str(tmp / "home")}
    try:
        up = run(env, "dev-cluster", "up", "--hollow", "2")
        assert up.returncode == 0, up.stderr.decode()
        exports = up.stdout.decode().strip().splitlines()[-1].removeprefix("export ").split()
        cli = {**env, **dict(kv.split("=", 1) for kv in exports)}
        compose = tmp / "compose.yaml"
        compose.write_text(APP)
        applied = run(cli, "apply", "-f", str(compose), "--wait", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr.decode()
        yield cli
    finally:
        run(env, "dev-cluster", "down", "--hollow")


def test_output_and_exit_code_come_back(cli: dict[str, str]) -> None:
    out = run(cli, "exec", "shop/web", "--", "echo", "hello", "world")
    assert (out.returncode, out.stdout) == (0, b"hello world\n"), out.stderr.decode()
    out = run(cli, "exec", "shop/web/2", "--", "exit", "3")
    assert out.returncode == 3, out.stderr.decode()


def test_stdin_reaches_the_command_whole(cli: dict[str, str]) -> None:
    data = b"".join(b"line %d of input\n" % i for i in range(20_000))  # ~400 KiB
    out = run(cli, "exec", "-i", "shop/web", "--", "cat", stdin=data)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == data


def test_stderr_and_a_missing_program(cli: dict[str, str]) -> None:
    out = run(cli, "exec", "shop/web", "--", "no-such-program")
    assert out.returncode == 127
    assert out.stdout == b""
    assert out.stderr == b"no-such-program: not found\n"


def test_a_terminal_only_with_dash_t(cli: dict[str, str]) -> None:
    out = run(cli, "exec", "shop/web", "--", "tty")
    assert (out.returncode, out.stdout) == (1, b"not a tty\n")

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "dockyard.cli", "exec", "-t", "shop/web",
                             "--", "tty"], env=cli, stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(follower)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    assert proc.returncode == 0, stderr.decode()
    assert b"/dev/pts/" in stdout

    refused = run(cli, "exec", "-t", "shop/web", "--", "tty")  # stdin is a pipe here
    assert refused.returncode == 125
    assert refused.stderr.decode().strip() == (
        "error: -t needs a terminal on stdin; leave out -t to pipe input")


@pytest.mark.parametrize(("args", "says"), [
    (["shop/nope", "--", "echo"], "no running task of shop/nope"),
    (["shop/web/9", "--", "echo"], "no running task of shop/web/9"),
    (["shop/web"], "exec needs a command"),
    (["shop", "--", "echo"], "expected APP/SERVICE or APP/SERVICE/SLOT"),
    (["-e", "NOEQUALS", "shop/web", "--", "echo"], "environment entries are KEY=VALUE"),
    (["Bad_App/web", "--", "echo"], "app"),
])
def test_bad_requests_get_one_line_and_run_nothing(cli: dict[str, str], args: list[str],
                                                   says: str) -> None:
    before = json.loads(run(cli, "get", "tasks", "-o", "json").stdout)
    out = run(cli, "exec", *args)
    assert out.returncode == 125
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    after = json.loads(run(cli, "get", "tasks", "-o", "json").stdout)
    assert [(t["id"], t["state"]) for t in after] == [(t["id"], t["state"]) for t in before]


def test_many_execs_at_once_each_get_their_own_answer(cli: dict[str, str]) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "dockyard.cli", "exec", "shop/web",
                               "--", "echo", f"call-{i}"], env=cli, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(8)]
    deadline = time.monotonic() + 120
    for i, p in enumerate(procs):
        stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert (p.returncode, stdout) == (0, f"call-{i}\n".encode()), stderr.decode()
