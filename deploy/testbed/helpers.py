"""Small helpers for tests and tools that use a testbed (for example a pytest fixture).

``preflight()`` says why a testbed cannot run here (or None); ``docker_client(host)``
opens a docker SDK client on one host's engine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .cluster import host_docker_url
from .images import BUSYBOX

REQUIRED_TOOLS = ("dockerd", "containerd", "docker-registry", "nsenter", "ip", "iptables")


def preflight() -> str | None:
    """None if a testbed can run on this machine, else one line saying what is missing."""
    if os.geteuid() != 0:
        return "the testbed needs root"
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        return f"the testbed needs {', '.join(missing)}"
    if not BUSYBOX.exists():
        return f"the testbed needs {BUSYBOX} (apt-get install busybox-static)"
    return None


def docker_client(host: int | str, *, state_dir: Path | None = None, timeout: int = 60) -> Any:
    """A ``docker.DockerClient`` on a host's engine (close it when done)."""
    import docker

    return docker.DockerClient(base_url=host_docker_url(host, state_dir=state_dir),
                               timeout=timeout)  # fmt: skip
