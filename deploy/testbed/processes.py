"""Start, check and stop testbed processes by pid.

Every process is started detached (its own session), with stdout and stderr appended to
a log file, optionally inside a network namespace through ``nsenter --net=`` (never
``ip netns exec``, which remounts /sys and breaks dockerd). A started process is
described by a ``ProcRecord`` (pid plus the kernel start time), so a recycled pid is
never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")


@dataclass(frozen=True)
class ProcRecord:
    """A process we started: pid, kernel start time (clock ticks), argv and log."""

    pid: int
    start_time: int
    argv: tuple[str, ...]
    log: str

    def to_json(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "start_time": self.start_time,
            "argv": list(self.argv),
            "log": self.log,
        }

    @staticmethod
    def from_json(d: Mapping[str, object]) -> ProcRecord:
        argv = d.get("argv", [])
        return ProcRecord(
            pid=int(str(d["pid"])),
            start_time=int(str(d.get("start_time", 0))),
            argv=tuple(str(a) for a in argv) if isinstance(argv, list) else (),
            log=str(d.get("log", "")),
        )


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces; everything after the last ')' is well-formed.
    return raw[raw.rfind(")") + 2 :].split()


def start_time_of(pid: int) -> int | None:
    """Kernel start time of ``pid`` in clock ticks, or None if it does not exist."""
    f = _stat_fields(pid)
    return int(f[19]) if f else None


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (reaping it if it is our child).

    A process whose main thread has ended while its other threads are still being torn
    down (an exit from the main thread, `os._exit`) shows as a zombie too, for as long
    as that takes: it still runs until its last thread is gone. Only then is it reaped,
    so a True never turns False while `/proc/<pid>` of our own child is still there."""
    f = _stat_fields(pid)
    if not f:
        return False
    if f[0] not in ("Z", "X") or _threads(pid) > 1:
        return True
    _reap(pid)
    return False


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def is_alive(rec: ProcRecord | None) -> bool:
    """True if the recorded process still runs (same pid and same start time)."""
    if rec is None or not pid_alive(rec.pid):
        return False
    return rec.start_time == 0 or start_time_of(rec.pid) == rec.start_time


def clean_env(extra: Mapping[str, str] | None = None, drop: Iterable[str] = ()) -> dict[str, str]:
    """The current environment without proxy settings (all traffic stays local)."""
    dropped = {d.lower() for d in drop}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in _PROXY_VARS and k.lower() not in dropped
    }
    env.update(extra or {})
    return env


def start(
    argv: list[str],
    log: Path,
    *,
    netns: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcRecord:
    """Start ``argv`` detached, logging to ``log``; inside ``netns`` if given.

    ``nsenter`` execs the command, so the returned pid is the command's own pid.
    """
    full = ["nsenter", f"--net={netns}", "--", *argv] if netns else list(argv)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%F %T')} start: {' '.join(full)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else clean_env(),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
            close_fds=True,
        )
    st = start_time_of(proc.pid) or 0
    return ProcRecord(pid=proc.pid, start_time=st, argv=tuple(full), log=str(log))


def signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait (bounded) until none of ``pids`` is alive; return those still alive."""
    left = list(pids)
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        left = [p for p in left if pid_alive(p)]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return left


def stop_pids(pids: Iterable[int], timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL and wait briefly."""
    live = [p for p in pids if pid_alive(p) and p != os.getpid()]
    for p in live:
        signal_pid(p, signal.SIGTERM)
    left = wait_gone(live, timeout)
    for p in left:
        signal_pid(p, signal.SIGKILL)
    wait_gone(left, 5.0)


def stop(rec: ProcRecord | None, timeout: float = 10.0) -> None:
    """Stop a recorded process if it is still ours and alive."""
    if rec is not None and is_alive(rec):
        stop_pids([rec.pid], timeout)


def kill_pids(pids: Iterable[int]) -> None:
    """SIGKILL right away and wait briefly."""
    live = [p for p in pids if p != os.getpid()]
    for p in live:
        signal_pid(p, signal.SIGKILL)
    wait_gone(live, 5.0)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``check`` until it is true or ``timeout`` s passed (bounded in count too)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        with contextlib.suppress(Exception):
            if check():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return False


def tail(log: Path | str, lines: int = 5, max_chars: int = 400) -> str:
    """The last lines of a log file, joined on one line (for one-line error reports)."""
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    body = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("===")]
    return " | ".join(body[-lines:])[-max_chars:] or "(empty log)"


# --- finding leftovers --------------------------------------------------------------------


def _all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def ppid_of(pid: int) -> int | None:
    f = _stat_fields(pid)
    return int(f[1]) if f else None


def _protected() -> set[int]:
    """Our own pid and our ancestors: never killed by a sweep."""
    out = {os.getpid()}
    p: int | None = os.getpid()
    for _ in range(64):
        p = ppid_of(p) if p else None
        if not p or p in out:
            break
        out.add(p)
    return out


def pids_in_netns(netns_path: Path) -> list[int]:
    """Processes whose network namespace is the one bound at ``netns_path``."""
    try:
        ino = os.stat(netns_path).st_ino
    except OSError:
        return []
    want = f"net:[{ino}]"
    out: list[int] = []
    for p in _all_pids():
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{p}/ns/net") == want:
                out.append(p)
    return [p for p in out if p not in _protected()]


# Programs a testbed starts, directly or through its daemons. Sweeps by path only ever
# match these, so a user's `tail -f` of a testbed log or a `docker -H` client survives.
TESTBED_PROGRAMS = frozenset({
    "dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v1",
    "containerd-shim-runc-v2", "docker-proxy", "docker-registry", "etcd", "runc",
})  # fmt: skip


def _is_testbed_program(args: list[str]) -> bool:
    prog = os.path.basename(args[0]) if args else ""
    if prog in TESTBED_PROGRAMS:
        return True
    return prog.startswith("python") and "dockyard.cli" in args


def pids_mentioning(path: Path) -> list[int]:
    """Testbed programs (dockerd, containerd, shims, etcd, the Dockyard server...) with
    an argument inside ``path``."""
    prefix = str(path).rstrip("/") + "/"
    prot = _protected()
    out: list[int] = []
    for p in _all_pids():
        if p in prot:
            continue
        args = cmdline(p)
        if (
            _is_testbed_program(args)
            and any(prefix in a or a == prefix[:-1] for a in args[1:])
            and pid_alive(p)
        ):
            out.append(p)
    return out


def children_of(pids: Iterable[int]) -> list[int]:
    parents = set(pids)
    return [p for p in _all_pids() if ppid_of(p) in parents]


def pids_in_cgroups_named(names: Iterable[str]) -> list[int]:
    """Processes whose cgroup path (any hierarchy) has a component in ``names``."""
    wanted = set(names)
    prot = _protected()
    out: list[int] = []
    for p in _all_pids():
        if p in prot:
            continue
        try:
            text = Path(f"/proc/{p}/cgroup").read_text()
        except OSError:
            continue
        for ln in text.splitlines():
            parts = ln.split(":", 2)
            if len(parts) == 3 and wanted.intersection(parts[2].split("/")):
                out.append(p)
                break
    return out
