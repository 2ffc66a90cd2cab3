"""The testbed's process helpers (deploy/testbed/processes.py) against real processes.

`kill_agent` and the testbed's stop wait until a process is gone. A process that ends
from its main thread (`os._exit`, as `dockyard` does once its command is done) while
other threads still run shows as a zombie until the last of them is gone; it has not
stopped yet, and a wait that took it for gone returned while `/proc/<pid>` was still
there (the e2e agent-restart test once failed so).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.deploy.testbed.processes import wait_gone

pytestmark = pytest.mark.integration

# A process with twenty threads blocked on a socket, that ends with os._exit on SIGTERM.
CHILD = """
import os, signal, socket, threading, time
def blocked():
    a, _b = socket.socketpair()
    a.recv(1)
for _ in range(20):
    threading.Thread(target=blocked, daemon=True).start()
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
print("ready", flush=True)
# Short sleeps: the kernel may hand SIGTERM to any of the threads, and Python runs the
# handler in the main thread only when it next runs bytecode, so one long sleep would
# hold the exit back for its whole length.
for _ in range(1200):
    time.sleep(0.05)
"""


def test_a_wait_for_a_process_ends_only_when_all_its_threads_have() -> None:
    still_there = 0
    for _ in range(20):  # bounded: 20 processes, each waited at most 30 s
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                                 text=True)
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            os.kill(child.pid, signal.SIGTERM)
            # What matters is that the wait says "gone" only once /proc/<pid> is gone;
            # the bound is generous because a loaded machine tears threads down slowly.
            assert wait_gone([child.pid], 30.0) == []
            still_there += Path(f"/proc/{child.pid}").exists()
        finally:
            child.kill()
            child.wait(timeout=5)
    assert still_there == 0
