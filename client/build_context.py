"""A service's build context as a reproducible tar stream, and its content hash.

Why: an unchanged context must never be built again, wherever it was built before, so
its identity is a hash of what the build sees: every file's path, mode and bytes (after
.dockerignore), the Dockerfile's name, the build arguments and the target. The tar is
written in a fixed order with owners and times zeroed, so the same folder gives the same
bytes on every machine; the same stream goes to a local engine or to a node's.

Every problem (no such folder, a URL, no Dockerfile, an unreadable file) is one line
naming the service. Reads the disk; nothing else.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from dockyard.client.errors import CliError
from dockyard.v1 import specs_pb2

MIB = 1024 * 1024
# The largest context Dockyard sends anywhere (the control plane relays as much).
MAX_CONTEXT_BYTES = 256 * MIB
_URL_PREFIXES = ("http://", "https://", "git://", "git@", "ssh://", "github.com/")


@dataclass(frozen=True)
class Context:
    """A packed build context."""

    service: str
    folder: Path
    dockerfile: str
    tar: bytes
    files: int
    hash: str  # sha256 hex of the tar, the Dockerfile's name, args and target


def context_folder(base: Path, service: str, build: specs_pb2.BuildSpec) -> Path:
    """The context's folder, resolved against the Compose file's; one line if unusable."""
    written = build.context or "."
    where = f"service {service}: build context {written!r}"
    if written.startswith(_URL_PREFIXES) or "://" in written:
        raise CliError(f"{where} is a URL; Dockyard builds from a folder on this machine")
    folder = (base / written).resolve()
    if not folder.exists():
        raise CliError(f"{where}: no such folder ({folder})")
    if not folder.is_dir():
        raise CliError(f"{where} is not a folder ({folder})")
    return folder


def ignore_patterns(folder: Path) -> list[str]:
    """The patterns of the context's .dockerignore (comments and blanks left out)."""
    path = folder / ".dockerignore"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out = []
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            negated = text.startswith("!")
            body = os.path.normpath(text.lstrip("!").strip().lstrip("/"))
            out.append(("!" if negated else "") + body)
    return out


def ignored(rel: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns leave ``rel`` out: the last matching pattern
    decides, a pattern also covers what is under a matched folder, ``**`` matches any
    folders. Pure."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        variants = {body, body.replace("**/", ""), body.replace("/**", "")}
        if any(fnmatch.fnmatchcase(p, v) for p in prefixes for v in variants):
            result = not negated
    return result


def _entries(folder: Path, patterns: list[str], service: str) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        rel_root = os.path.relpath(root, folder)
        for name in sorted(dirs + files):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if rel in (".dockerignore",) or not ignored(rel, patterns):
                found.append((rel, Path(root) / name))
            elif name in dirs and not any(p.startswith("!") for p in patterns):
                dirs.remove(name)  # nothing under it can come back
    return sorted(found)


def _add(tar: tarfile.TarFile, rel: str, path: Path, service: str) -> int:
    try:
        st = path.lstat()
    except OSError as exc:
        raise CliError(f"service {service}: build context: cannot read {rel}: "
                       f"{exc.strerror}") from None
    info = tarfile.TarInfo(rel)
    info.mode, info.mtime, info.uid, info.gid = stat.S_IMODE(st.st_mode), 0, 0, 0
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return 0
    if stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        tar.addfile(info)
        return 0
    if not stat.S_ISREG(st.st_mode):
        return 0  # sockets, pipes and devices are not part of a context
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"service {service}: build context: cannot read {rel}: "
                       f"{exc.strerror}") from None
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return len(data)


def pack_context(base: Path, service: str, build: specs_pb2.BuildSpec) -> Context:
    """Read and pack a service's context; one-line ``CliError`` for every problem."""
    folder = context_folder(base, service, build)
    dockerfile = os.path.normpath(build.dockerfile or "Dockerfile")
    if dockerfile.startswith("..") or os.path.isabs(dockerfile):
        raise CliError(f"service {service}: build dockerfile {build.dockerfile!r} must be "
                       "inside the build context")
    patterns = ignore_patterns(folder)
    entries = _entries(folder, patterns, service)
    if not (folder / dockerfile).is_file() or dockerfile not in {rel for rel, _ in entries}:
        raise CliError(f"service {service}: no Dockerfile {dockerfile!r} in the build "
                       f"context {folder}")
    buffer = io.BytesIO()
    total = 0
    files = 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, path in entries:
            total += _add(tar, rel, path, service)
            files += 1
            if total > MAX_CONTEXT_BYTES:
                raise CliError(f"service {service}: the build context {folder} is over "
                               f"{MAX_CONTEXT_BYTES // MIB} MiB; add a .dockerignore")
    data = buffer.getvalue()
    return Context(service=service, folder=folder, dockerfile=dockerfile, tar=data,
                   files=files, hash=context_hash(data, build))


def context_hash(tar: bytes, build: specs_pb2.BuildSpec) -> str:
    """sha256 of what the build sees: the tar, the Dockerfile's name, args, target. Pure."""
    digest = hashlib.sha256(tar)
    digest.update(b"\0dockerfile=" + (build.dockerfile or "Dockerfile").encode())
    for key in sorted(build.args):
        digest.update(b"\0arg=" + key.encode() + b"=" + build.args[key].encode())
    digest.update(b"\0target=" + build.target.encode())
    return digest.hexdigest()
