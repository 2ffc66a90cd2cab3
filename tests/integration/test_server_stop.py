"""The server stops within its documented bound on SIGTERM, even with its etcd frozen
(SIGSTOP): the step that overran is named in its log, the embedded etcd never outlives
it, and a second signal during the stop is taken calmly (no traceback)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.controlplane.stopping import WATCHDOG_MARGIN_S, total_bound_s
from tests.integration.harness import ServerProcess

# What a user may wait for at most: every step's bound, plus the time to start exiting.
STOP_BOUND_S = total_bound_s() + WATCHDOG_MARGIN_S


def _etcd_pid(server: ServerProcess) -> int:
    """The embedded etcd: the server process's only child."""
    assert server.proc is not None
    pid = server.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    assert "etcd" in Path(f"/proc/{children[0]}/cmdline").read_bytes().decode()
    return int(children[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_log(server: ServerProcess, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in server.log_text():
        assert time.monotonic() < deadline, f"no {text!r} in the log: {server.log_tail()}"
        time.sleep(0.1)


@contextmanager
def _frozen(pid: int) -> Iterator[None]:
    """`pid` stopped (SIGSTOP) for the block, and let go again afterwards if it lives."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGCONT)


def test_sigterm_with_etcd_frozen_stops_within_the_bound_naming_the_step(
    server: ServerProcess,
) -> None:
    _wait_for_log(server, "is the leader")  # the stop has a leadership to give up
    etcd = _etcd_pid(server)
    assert server.proc is not None
    with _frozen(etcd):
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=STOP_BOUND_S) == 0, server.log_tail()
        assert not _alive(etcd), "the embedded etcd outlived the server"
    log = server.log_text()
    assert "stopping: step 'resign' overran its" in log, log[-3000:]
    assert log.rstrip().endswith("dockyard.server: stopped")


def test_a_second_signal_during_the_stop_is_no_traceback(server: ServerProcess) -> None:
    _wait_for_log(server, "is the leader")
    etcd = _etcd_pid(server)
    assert server.proc is not None
    with _frozen(etcd):  # so the stop lasts while the user presses ctrl-c again
        server.proc.send_signal(signal.SIGINT)
        _wait_for_log(server, "stopping (at most")
        server.proc.send_signal(signal.SIGINT)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=STOP_BOUND_S) == 0, server.log_tail()
    log = server.log_text()
    assert "already stopping" in log
    assert "Traceback" not in log, log[-3000:]
    assert not _alive(etcd)

