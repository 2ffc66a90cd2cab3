"""Build and push the AMP example's images: `python -m deploy.amp.build [--engine SOCK]`.

The rootfs comes from `debootstrap --variant=minbase` with no mirror argument (its
default), is cached under /var/cache/dockyard keyed by the package list, and is
imported with `docker import`; everything after that works offline.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dockyard.deploy.testbed import build_and_push, status
from dockyard.deploy.testbed.images import registry_has

PACKAGES = (
    "apache2", "php-fpm", "php-mysql", "php-cli", "mariadb-server", "mariadb-client",
    "curl", "ca-certificates",
)
SUITE = "bookworm"
CACHE = Path("/var/cache/dockyard")
FILES = Path(__file__).resolve().parent / "files"
TIERS = ("db", "php", "web")
VERSION = "4"


def image_tag(registry: str, tier: str) -> str:
    return f"{registry}/dockyard/amp-{tier}:{VERSION}"


def _recipe_hash() -> str:
    h = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)}".encode())
    return h.hexdigest()[:12]


def rootfs_tar(progress: Callable[[str], None]) -> Path:
    """The cached rootfs tarball, made with debootstrap when missing (about a minute)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"amp-rootfs-{_recipe_hash()}.tar"
    if tar.exists():
        return tar
    if shutil.which("debootstrap") is None:
        raise SystemExit("error: debootstrap is missing (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap {SUITE} with {', '.join(PACKAGES)} (about a minute, once)")
        t0 = time.monotonic()
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
             str(root)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (root / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        partial = tar.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
        partial.replace(tar)
        progress(f"rootfs ready in {time.monotonic() - t0:.0f}s: {tar}")
    return tar


def build(*, engine_socket: str, registry: str, progress: Callable[[str], None] = print,
          force: bool = False) -> list[str]:
    """Build and push the three tier images; skip when the registry has them already."""
    tags = [image_tag(registry, t) for t in TIERS]
    if not force and all(registry_has(t) for t in tags):
        progress("amp images already in the registry")
        return tags
    tar = rootfs_tar(progress)
    t0 = time.monotonic()
    with open(tar, "rb") as f:
        subprocess.run(
            ["docker", "-H", f"unix://{engine_socket}", "import", "-", "amp-base"],
            stdin=f, check=True, stdout=subprocess.DEVNULL,
        )
    progress(f"imported amp-base in {time.monotonic() - t0:.0f}s")
    for tier, tag in zip(TIERS, tags, strict=True):
        t0 = time.monotonic()
        build_and_push(engine_socket, FILES / tier, tag)
        progress(f"built and pushed {tag} in {time.monotonic() - t0:.0f}s")
    return tags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="rebuild even if pushed")
    args = parser.parse_args()
    st = status()
    if st is None:
        print("error: no testbed is up (dockyard dev-cluster up)", file=sys.stderr)
        return 1
    build(engine_socket=st.hosts[0].docker_socket, registry=st.registry, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
