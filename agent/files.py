"""Where the agent keeps delivered secrets and configs: in memory, never on the host's disk.

The control plane sends each version a task of this node mounts once per session, keyed
`kind/object@version` (common/files.py). A real agent writes it into a tmpfs it mounts
itself (`--files-dir`, default /run/dockyard-agent/NODE, mode 0700, owned by the agent):
the runtime bind-mounts the file read-only into the container. The tmpfs outlives an
agent restart, so running containers keep their files; files no task on the node
mounts any more are deleted. Hollow and test agents keep them in a dict.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

TMPFS_SIZE = "64m"


class FilesError(Exception):
    """The files directory cannot be made safe: one line."""


class FileKeeper(Protocol):
    def write(self, key: str, data: bytes) -> str:
        """Keep `data` under `key`; the path the runtime mounts."""
        ...

    def remove(self, key: str) -> None: ...

    def held(self) -> set[str]:
        """Keys kept now (after a restart, those the previous run wrote)."""
        ...


class MemoryFiles:
    """Files kept in a dict: for the in-memory runtime (tests, hollow nodes)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def write(self, key: str, data: bytes) -> str:
        self.data[key] = data
        return f"memory:{key}"

    def remove(self, key: str) -> None:
        self.data.pop(key, None)

    def held(self) -> set[str]:
        return set(self.data)


def filesystem_of(path: Path, mounts: str) -> str:
    """The type of the filesystem `path` lives on, from /proc/self/mounts text. Pure."""
    best, kind = "", ""
    target = str(path)
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise FilesError(f"refusing a delivered file named {key!r}")
    return key


class TmpfsFiles:
    """Files in a tmpfs the agent mounts at `root` (or finds mounted there)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """Mount a private tmpfs at the root unless one is there; FilesError otherwise."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if filesystem_of(self.root.resolve(), Path("/proc/self/mounts").read_text()) != "tmpfs":
            mount = shutil.which("mount") or "/bin/mount"
            done = subprocess.run(
                [mount, "-t", "tmpfs", "-o",
                 f"size={TMPFS_SIZE},mode=0700,nosuid,nodev,noexec", "tmpfs", str(self.root)],
                capture_output=True, text=True, check=False)
            mounts = Path("/proc/self/mounts").read_text()
            if done.returncode != 0 or filesystem_of(self.root.resolve(), mounts) != "tmpfs":
                why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no tmpfs"
                raise FilesError(f"cannot mount a tmpfs for secrets at {self.root}: {why}; "
                                 "secrets are never written to the host's disk")
        os.chmod(self.root, 0o700)

    def write(self, key: str, data: bytes) -> str:
        path = self.root / _safe_key(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(path)
        return str(path)

    def remove(self, key: str) -> None:
        path = self.root / _safe_key(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def held(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {str(p.relative_to(self.root)) for p in self.root.rglob("*")
                if p.is_file() and not p.name.endswith(".tmp")}
