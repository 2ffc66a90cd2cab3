"""Offline images for the testbed: a busybox image, built and pushed to the local registry.

``build_and_push(engine_socket, context_dir, tag)`` is generic (any build context with a
Dockerfile) so other recipes, for example a debootstrap rootfs, can reuse it.
``busybox_context(dir)`` prepares a ``FROM scratch`` context from Debian's busybox-static.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
INDEX_HTML = b"<html><body>hello from dockyard testbed</body></html>\n"
DOCKERFILE = 'FROM scratch\nADD rootfs.tar /\nCMD ["sh"]\n'


class ImageError(RuntimeError):
    """Building or pushing an image failed."""


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
    tar.addfile(info)


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, 0
    tar.addfile(info)


def busybox_applets(busybox: Path = BUSYBOX) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return sorted({a.strip() for a in out.stdout.split() if a.strip() and "/" not in a})


def write_busybox_rootfs_tar(dest: Path, busybox: Path = BUSYBOX) -> None:
    """A deterministic rootfs tarball: /bin/busybox, one symlink per applet, /etc basics,
    and /var/www/index.html for ``httpd -h /var/www``."""
    if not busybox.exists():
        raise ImageError(f"{busybox} not found (apt-get install busybox-static)")
    with tarfile.open(dest, "w", format=tarfile.GNU_FORMAT) as tar:
        for d in (
            "bin",
            "etc",
            "tmp",
            "var",
            "var/www",
            "root",
            "proc",
            "sys",
            "dev",
            "usr",
            "usr/bin",
            "sbin",
        ):
            _add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        _add_file(tar, "bin/busybox", busybox.read_bytes(), 0o755)
        for applet in busybox_applets(busybox):
            if applet != "busybox":
                _add_link(tar, f"bin/{applet}", "busybox")
        _add_file(
            tar,
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        _add_file(tar, "etc/group", b"root:x:0:\nnobody:x:65534:\n")
        _add_file(tar, "var/www/index.html", INDEX_HTML)


def busybox_context(context_dir: Path) -> Path:
    """Prepare a build context (Dockerfile + rootfs.tar) for the busybox image."""
    if context_dir.exists():
        shutil.rmtree(context_dir)
    context_dir.mkdir(parents=True)
    write_busybox_rootfs_tar(context_dir / "rootfs.tar")
    (context_dir / "Dockerfile").write_text(DOCKERFILE)
    return context_dir


def _client(engine_socket: str | Path, timeout: int = 120) -> Any:
    import docker

    url = str(engine_socket)
    if not url.startswith("unix://"):
        url = f"unix://{url}"
    return docker.DockerClient(base_url=url, timeout=timeout)


def build_and_push(engine_socket: str | Path, context_dir: Path, tag: str) -> str:
    """Build ``context_dir`` (legacy builder, offline) on the engine, tag it, push it.

    Returns the image id. Raises ``ImageError`` with the engine's message on failure.
    """
    client = _client(engine_socket)
    try:
        try:
            image, _logs = client.images.build(
                path=str(context_dir), tag=tag, rm=True, forcerm=True, pull=False
            )
        except Exception as e:  # docker.errors.BuildError / APIError
            raise ImageError(f"build of {tag} failed: {e}") from e
        repo, _, ver = tag.rpartition(":")
        if "/" in ver or not repo:
            repo, ver = tag, "latest"
        for line in client.api.push(repo, tag=ver, stream=True, decode=True):
            if isinstance(line, dict) and line.get("error"):
                raise ImageError(f"push of {tag} failed: {line['error']}")
        return str(image.id)
    finally:
        client.close()


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def registry_has(tag: str, timeout: float = 5.0) -> bool:
    """True if the registry in ``tag`` (HOST:PORT/NAME:TAG) holds that manifest."""
    host, _, rest = tag.partition("/")
    name, _, ver = rest.rpartition(":")
    if not name:
        name, ver = rest, "latest"
    req = urllib.request.Request(
        f"http://{host}/v2/{name}/manifests/{ver}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with _no_proxy_opener().open(req, timeout=timeout) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def registry_ready(addr: str, timeout: float = 2.0) -> bool:
    """True if ``http://ADDR/v2/`` answers 200."""
    try:
        with _no_proxy_opener().open(f"http://{addr}/v2/", timeout=timeout) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def registry_config(addr: str, storage: Path) -> str:
    """docker-registry (distribution 2.x) configuration, as JSON (valid YAML)."""
    cfg = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": addr},
    }
    return json.dumps(cfg, indent=2) + "\n"


def engine_ping(engine_socket: str | Path, timeout: int = 2) -> bool:
    """True if the engine at the socket answers ``/_ping``."""
    path = str(engine_socket).removeprefix("unix://")
    if not os.path.exists(path):
        return False
    try:
        client = _client(path, timeout=timeout)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()
