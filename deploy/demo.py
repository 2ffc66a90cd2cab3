"""`make demo`: a 3-host testbed, the AMP app across it, its page served.

Brings the testbed up (idempotent), builds and pushes the AMP images (cached), applies
examples/amp/compose.yaml with live progress, then fetches the page from a node that
runs the web tier and prints it with its URL, and ends with the web console's address and
a login token for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dockyard.deploy import testbed
from dockyard.deploy.amp.build import build
from dockyard.deploy.testbed import TestbedStatus

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "examples" / "amp" / "compose.yaml"


def dockyard(bed: TestbedStatus, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args, "--server", bed.server,
         "--credentials", bed.credentials],
        text=True, capture_output=args[0] == "get",
    )


def fetch(url: str, *, timeout_s: float = 60) -> str:
    """GET `url`, retrying (bounded) while the page comes up."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=5) as r:
                return str(r.read().decode())
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"error: {url} did not answer in {timeout_s:g}s: {last}")


def main() -> int:
    print("== testbed: 3 hosts, each with its own Docker Engine and agent")
    bed = testbed.up(nodes=3, node_cpus=1, node_memory="1G")
    print("== images: Apache, PHP-FPM and MariaDB from Debian's packages")
    build(engine_socket=bed.hosts[0].docker_socket, registry=bed.registry)
    print(f"== dockyard apply -f {COMPOSE.relative_to(ROOT)} --wait")
    applied = dockyard(bed, "apply", "-f", str(COMPOSE), "--wait", "--timeout", "300")
    if applied.returncode != 0:
        return applied.returncode
    dockyard(bed, "get", "tasks")
    tasks = json.loads(dockyard(bed, "get", "tasks", "--app", "amp", "-o", "json").stdout)
    print("\n".join(f"  {t['service']}.{t['slot']} on {t['node']}: {t['state']}"
                    f"{' (' + t['health'] + ')' if t['health'] not in ('', 'none') else ''}"
                    for t in tasks))
    web_nodes = sorted({t["node"] for t in tasks if t["service"] == "web" and t["node"]})
    if not web_nodes:
        print("error: no web task is placed", file=sys.stderr)
        return 1
    # The routing mesh: port 8080 answers on every node, with or without a web task.
    for h in bed.hosts:
        url = f"http://{h.address}:8080/"
        where = "runs web" if h.name in web_nodes else "runs no web task"
        print(f"== the page, from {h.name} ({where}): {url}\n")
        print(fetch(url))
    print("The app is served at "
          + " and ".join(f"http://{h.address}:8080/" for h in bed.hosts))
    print(f"Try: .venv/bin/dockyard describe app amp --server {bed.server} "
          f"--credentials {bed.credentials}")
    print_console(bed)
    print("Tear down with: make demo-down")
    return 0


def print_console(bed: TestbedStatus) -> None:
    """Where the web console is and how to log in: a fresh token from the server."""
    made = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "console-token", "--quiet", "--server",
         bed.server, "--credentials", bed.credentials],
        text=True, capture_output=True)
    token = made.stdout.strip()
    print(f"\nThe web console is at http://{bed.http}/ (metrics: http://{bed.http}/metrics).")
    if made.returncode != 0 or not token:
        print(f"  (no login token: {made.stderr.strip()})")
        return
    print(f"Log in by opening http://{bed.http}/login?token={token}\n"
          f"or paste this token at http://{bed.http}/login (valid 12 hours):\n  {token}\n"
          f"A new one: .venv/bin/dockyard console-token --server {bed.server} "
          f"--credentials {bed.credentials}")


if __name__ == "__main__":
    raise SystemExit(main())
