"""Where the agent keeps delivered secrets and configs: in memory, never on the host's disk.

The control plane sends each version a task of this node mounts once per session, keyed
`kind/object@version` (common/files.py). A real agent writes it into a tmpfs it mounts
itself (`--files-dir`, default /run/dockyard-agent/NODE, mode 0700, owned by the agent):
the runtime bind-mounts the file read-only into the container. The tmpfs outlives an
agent restart, so running containers keep their files; files no task on the node
mounts any more are deleted. Hollow and test agents keep them in a dict.

A reference with Compose's `uid`, `gid` or `mode` mounts a copy of the delivered file
made so (`owned_copies`), keyed by what it asks (common/files.py `mount_key`): the
container sees the file with that owner and mode, as the bind mount shows the host's.
What cannot be applied (a uid that is a name, a chown the agent may not do) is one
warning line in the agent's log, and the file is mounted with its default owner.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from dockyard.common.files import Ownership, delivery_key, mount_key, ownership, references
from dockyard.v1 import objects_pb2

TMPFS_SIZE = "64m"
DEFAULT_MODE = 0o444
log = logging.getLogger("dockyard.agent")


class FilesError(Exception):
    """The files directory cannot be made safe: one line."""


class FileKeeper(Protocol):
    def write(self, key: str, data: bytes, owner: Ownership | None = None) -> str:
        """Keep `data` under `key` (owned and moded as `owner` says, as far as the agent
        may); the path the runtime mounts."""
        ...

    def read(self, key: str) -> bytes: ...

    def remove(self, key: str) -> None: ...

    def held(self) -> set[str]:
        """Keys kept now (after a restart, those the previous run wrote)."""
        ...


class MemoryFiles:
    """Files kept in a dict: for the in-memory runtime (tests, hollow nodes)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.owners: dict[str, Ownership] = {}  # what a file on disk would be chowned to

    def write(self, key: str, data: bytes, owner: Ownership | None = None) -> str:
        self.data[key] = data
        if owner is not None:
            self.owners[key] = owner
        return f"memory:{key}"

    def read(self, key: str) -> bytes:
        return self.data[key]

    def remove(self, key: str) -> None:
        self.data.pop(key, None)
        self.owners.pop(key, None)

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

    def write(self, key: str, data: bytes, owner: Ownership | None = None) -> str:
        path = self.root / _safe_key(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if owner is not None and (owner.uid is not None or owner.gid is not None):
                _chown(f.fileno(), owner, key)
            mode = owner.mode if owner is not None and owner.mode is not None else DEFAULT_MODE
            os.fchmod(f.fileno(), mode)
        tmp.replace(path)
        return str(path)

    def read(self, key: str) -> bytes:
        return (self.root / _safe_key(key)).read_bytes()

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


def _chown(fd: int, owner: Ownership, key: str) -> None:
    uid = -1 if owner.uid is None else owner.uid
    gid = -1 if owner.gid is None else owner.gid
    try:
        os.fchown(fd, uid, gid)
    except OSError as exc:
        log.warning("%s: cannot give the file to uid %s gid %s (%s); it keeps the agent's "
                    "owner", key, owner.uid, owner.gid, exc.strerror or exc)


def owned_copies(keeper: FileKeeper, files: dict[str, str], task: objects_pb2.Task) -> None:
    """Make the copies the task's references with their own uid, gid or mode mount, from
    the delivered files (`files`: key -> path, updated), once per node. A delivered file
    not here yet is left for the create to report."""
    for kind, ref in references(task.spec):
        owner, problem = ownership(ref)
        if problem:
            log.warning("task %s: %s %s", task.meta.id, kind, problem)
        key = mount_key(kind, ref)
        delivered = delivery_key(kind, ref.object, ref.version)
        if owner is None or key in files or delivered not in files:
            continue
        try:
            files[key] = keeper.write(key, keeper.read(delivered), owner)
        except (OSError, KeyError, FilesError) as exc:
            log.warning("task %s: %s %s: cannot make its copy owned as asked: %s",
                        task.meta.id, kind, ref.source, exc)
