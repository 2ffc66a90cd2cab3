"""The CLI's everyday habits against a real server: --version, contexts, moving to the
next server address, events following an apply, completion, and the join command the
first start prints."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.integration.harness import ServerProcess, free_port

pytestmark = pytest.mark.integration

SMALL = """
name: shop
services:
  web:
    image: 127.0.0.1:5000/busybox:latest
    command: ["httpd", "-f", "-p", "80"]
"""


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment with their own HOME and no DOCKYARD_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    return {**env, "HOME": str(home), **extra}


def dockyard(home: Path, *args: str, check: bool = True,
             **extra: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], capture_output=True,
                         text=True, env=user_env(home, **extra), timeout=60)
    if check and out.returncode != 0:
        raise AssertionError(f"dockyard {' '.join(args)}: {out.stderr}")
    return out


def test_version_names_the_installed_package(tmp_path: Path) -> None:
    out = dockyard(tmp_path, "--version").stdout
    assert out.strip() == f"dockyard {version('dockyard')}"


def test_contexts_add_use_ls_and_the_next_address(server: ServerProcess, tmp_path: Path) -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    home = tmp_path / "user"
    out = dockyard(home, "context", "add", "lab", "--server", f"{closed},{server.address}",
                   "--credentials", str(server.credentials)).stdout
    assert "context lab added" in out
    # Not current yet: the default address (nothing there on this port) is used.
    listed = json.loads(dockyard(home, "context", "ls", "-o", "json").stdout)
    assert listed == [{"name": "lab", "current": False,
                       "servers": [closed, server.address],
                       "credentials": str(server.credentials.resolve())}]
    dockyard(home, "context", "use", "lab")
    path = home / ".dockyard" / "contexts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["current"] == "lab"
    assert json.loads(dockyard(home, "context", "ls", "-o", "json").stdout)[0]["current"]
    # The first address is a closed port: the call moves to the second one.
    assert json.loads(dockyard(home, "get", "nodes", "-o", "json").stdout) == []
    table = dockyard(home, "context", "ls").stdout.splitlines()
    assert table[0].split() == ["CURRENT", "NAME", "SERVERS", "CREDENTIALS"]
    assert table[1].split()[:2] == ["*", "lab"]
    # --server beats the context; a list of only closed ports is one line of error.
    bad = dockyard(home, "get", "nodes", "--server", f"{closed},{closed}", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"error: no server reachable at {closed}, {closed}"
    dockyard(home, "context", "rm", "lab")
    assert json.loads(dockyard(home, "context", "ls", "-o", "json").stdout) == []


def test_context_mistakes_are_one_line_and_change_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    home = tmp_path / "user"
    dockyard(home, "context", "add", "lab", "--server", server.address,
             "--credentials", str(server.credentials), "--use")
    before = (home / ".dockyard" / "contexts.json").read_text()
    for args, needle in [
        (("context", "use", "nope"), "no context named 'nope' (known: lab)"),
        (("context", "rm", "nope"), "no context named 'nope'"),
        (("context", "add", "lab", "--server", "h:1", "--credentials",
          str(server.credentials)), "context 'lab' exists"),
        (("context", "add", "x", "--server", "nohost", "--credentials",
          str(server.credentials)), "bad server address 'nohost'"),
        (("context", "add", "x", "--server", "h:1", "--credentials",
          str(tmp_path / "none.pem")), "no admin credential"),
        (("get", "nodes", "--context", "nope"), "no context named 'nope'"),
    ]:
        out = dockyard(home, *args, check=False)
        assert out.returncode == 1, args
        assert len(out.stderr.strip().splitlines()) == 1 and needle in out.stderr, out.stderr
    assert (home / ".dockyard" / "contexts.json").read_text() == before


def test_events_follow_an_apply_and_ctrl_c_exits_130(
    server: ServerProcess, tmp_path: Path
) -> None:
    home = tmp_path / "user"
    env = user_env(home, DOCKYARD_SERVER=server.address,
                   DOCKYARD_CREDENTIALS=str(server.credentials))
    follow = subprocess.Popen(
        [sys.executable, "-m", "dockyard.cli", "events", "-f", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        compose = tmp_path / "compose.yaml"
        compose.write_text(SMALL)
        dockyard(home, "apply", "-f", str(compose), DOCKYARD_SERVER=server.address,
                 DOCKYARD_CREDENTIALS=str(server.credentials))
        assert follow.stdout is not None
        seen: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                e["kind"] == "app" and "web created" in str(e["message"]) for e in seen):
            line = follow.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line))
        assert any(e["app"] == "shop" and e["kind"] == "app" and e["object"] == "shop"
                   and "web created" in str(e["message"]) for e in seen), seen
    finally:
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=20)
    assert follow.returncode == 130
    assert "Traceback" not in err
    # Without -f: the stored events, oldest first, then the command ends.
    out = dockyard(home, "events", "--app", "shop", DOCKYARD_SERVER=server.address,
                   DOCKYARD_CREDENTIALS=str(server.credentials)).stdout
    lines = out.splitlines()
    assert lines and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  app +shop  applied: "
                              r"web created$", lines[0]), lines
    assert dockyard(home, "events", "--app", "nothing-here", DOCKYARD_SERVER=server.address,
                    DOCKYARD_CREDENTIALS=str(server.credentials)).stdout == ""


def test_first_start_prints_the_join_command_once(server: ServerProcess) -> None:
    join = (f"dockyard agent --join {server.address} "
            f"--token-file {server.data_dir.resolve() / 'join-token'}")
    assert server.log_tail().count(join) == 1, server.log_tail()
    token = (server.data_dir / "join-token").read_text().strip()
    env = user_env(server.home, DOCKYARD_SERVER=server.address,
                   DOCKYARD_CREDENTIALS=str(server.credentials))
    shown = subprocess.run([sys.executable, "-m", "dockyard.cli", "token", "agent"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert shown.stdout.strip() == token
    server.stop()
    server.start()
    assert (server.data_dir.parent / "server.log").read_text().count(join) == 1


def test_completion_script_and_answers(server: ServerProcess, tmp_path: Path) -> None:
    home = tmp_path / "user"
    script = dockyard(home, "completion", "bash").stdout
    assert "complete" in script and "dockyard" in script
    dockyard(home, "context", "add", "lab", "--server", server.address,
             "--credentials", str(server.credentials))

    def complete(line: str) -> set[str]:
        answer = tmp_path / "answer"
        subprocess.run([sys.executable, "-m", "dockyard.cli"], env=user_env(
            home, _ARGCOMPLETE="1", _ARGCOMPLETE_IFS="\n", COMP_LINE=line,
            COMP_POINT=str(len(line)), _ARGCOMPLETE_STDOUT_FILENAME=str(answer)),
            timeout=60, capture_output=True, check=False)
        return {w.strip() for w in answer.read_text().split("\n")} - {""}

    assert complete("dockyard co") == {"config", "configs", "context", "completion",
                                       "console-token"}
    assert complete("dockyard context use l") == {"lab"}
