"""A hollow cluster for one test, as a user brings it up: `dockyard dev-cluster up
--hollow N` (a real server and etcd, hollow agents over an in-memory runtime), the CLI
pointed at it, and `dev-cluster down --hollow` at the end, whatever happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, f"dockyard {' '.join(args)}: {out.stderr}"
    return out


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(run(env, *args, "-o", "json").stdout)


@contextmanager
def hollow_cluster(tmp_path: Path, nodes: int) -> Iterator[dict[str, str]]:
    """The environment in which the CLI talks to a fresh hollow cluster of ``nodes``."""
    env = {**os.environ, "DOCKYARD_HOLLOW_DIR": str(tmp_path / "hollow"),
           "HOME": str(tmp_path / "home")}
    try:
        up = run(env, "dev-cluster", "up", "--hollow", str(nodes))
        exports = up.stdout.strip().splitlines()[-1].removeprefix("export ").split()
        yield {**env, **dict(kv.split("=", 1) for kv in exports)}
    finally:
        # --hollow: never the e2e testbed that may run beside this suite.
        subprocess.run([sys.executable, "-m", "dockyard.cli", "dev-cluster", "down",
                        "--hollow"], env=env, capture_output=True, timeout=120)
