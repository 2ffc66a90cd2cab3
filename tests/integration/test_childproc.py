"""A child started with `with_parent_death` is gone once its parent is."""

import os
import subprocess
import sys
import time

_PARENT = """
import subprocess, sys
from dockyard.common.childproc import with_parent_death
child = subprocess.Popen(with_parent_death(["sleep", "60"], "KILL"))
print(child.pid, flush=True)
sys.stdin.readline()
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_dies_when_its_parent_exits() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None and parent.stdin is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child), "the child should run while its parent does"
        parent.stdin.close()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the child outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, 9)
