"""An app's kept versions against a real server and etcd: the last 10 and no more (in
etcd too), what each changed, `rollback --to N` and `rollback` restoring the specs of an
earlier version as a new one, one-line refusals, and delete taking the history along."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.etcd_read import embedded_read
from tests.integration.harness import ServerProcess, run_cli

pytestmark = pytest.mark.integration


def shop(version: int, *, image: str = "127.0.0.1:5000/busybox:latest") -> str:
    return f"""
name: shop
services:
  db:
    image: 127.0.0.1:5000/busybox:latest
    command: ["sleep", "3600"]
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "80"]
    environment: {{VERSION: "{version}"}}
    deploy:
      replicas: 2
      update_config: {{parallelism: 1, order: start-first, failure_action: rollback}}
      rollback_config: {{parallelism: 2}}
"""


def apply(server: ServerProcess, tmp: Path, text: str) -> str:
    f = tmp / "compose.yaml"
    f.write_text(text)
    return run_cli(server, "apply", "-f", str(f)).stdout


def history(server: ServerProcess) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        run_cli(server, "history", "shop", "-o", "json").stdout)
    return rows


def web(server: ServerProcess) -> dict[str, Any]:
    rows = json.loads(run_cli(server, "get", "services", "--app", "shop", "-o", "json").stdout)
    return next(r for r in rows if r["service"] == "web")


def kept_keys(server: ServerProcess) -> int:
    [count] = embedded_read(server.data_dir, server.etcd_port, "/dockyard/history/shop/")
    return int(count)


def test_history_keeps_the_last_ten_and_rollback_restores_a_version(
    server: ServerProcess, tmp_path: Path
) -> None:
    for v in range(1, 13):
        apply(server, tmp_path, shop(v))
    rows = history(server)
    assert [r["version"] for r in rows] == list(range(3, 13))
    assert kept_keys(server) == 10
    assert [r["current"] for r in rows] == [False] * 9 + [True]
    assert rows[-1]["changes"] == ["web updated: environment changed"]
    assert rows[-1]["source"] == "apply"
    assert rows[-1]["images"] == {"db": "127.0.0.1:5000/busybox:latest",
                                  "web": "127.0.0.1:5000/busybox:latest"}
    table = run_cli(server, "history", "shop").stdout
    assert table.splitlines()[0].split() == ["CURRENT", "VERSION", "APPLIED", "SOURCE",
                                             "CHANGES"]

    # An unchanged re-apply is no new version.
    assert "updated" not in apply(server, tmp_path, shop(12))
    assert len(history(server)) == 10

    out = run_cli(server, "rollback", "shop", "--to", "5").stdout
    assert "app shop rolling back: version 13" in out
    assert "shop/web updated: new spec" in out and "shop/db unchanged" in out
    rows = history(server)
    assert [r["version"] for r in rows] == list(range(4, 14))
    assert rows[-1]["source"] == "rollback to 5" and rows[-1]["current"]
    assert rows[-1]["changes"] == ["web updated: environment changed"]
    assert kept_keys(server) == 10
    described = json.loads(run_cli(server, "describe", "app", "shop", "-o", "json").stdout)
    assert any("rollback to 5, as version 13" in e["message"] for e in described["events"])
    assert web(server)["update"] == "rolling back"
    config = json.loads(run_cli(server, "get", "apps", "-o", "json").stdout)
    assert [a["name"] for a in config] == ["shop"]

    # Without --to: the version before the latest, here 12 (what was applied last).
    run_cli(server, "rollback", "shop")
    rows = history(server)
    assert rows[-1]["source"] == "rollback to 12" and rows[-1]["version"] == 14
    # A re-apply of the file of version 12 now changes nothing.
    assert "updated" not in apply(server, tmp_path, shop(12))

    missing = run_cli(server, "rollback", "shop", "--to", "2", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'error: app "shop" has no version 2 (kept: 5-14)'
    nothing = run_cli(server, "rollback", "nosuch", check=False)
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == "error: no app named 'nosuch'"

    run_cli(server, "delete", "app", "shop")
    assert kept_keys(server) == 0
    gone = run_cli(server, "history", "shop", check=False)
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    # A new app of the same name starts its history again.
    apply(server, tmp_path, shop(1))
    assert [r["version"] for r in history(server)] == [1]


def test_a_rollback_to_the_running_version_changes_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    apply(server, tmp_path, shop(1))
    apply(server, tmp_path, shop(2))
    apply(server, tmp_path, shop(1))
    out = run_cli(server, "rollback", "shop", "--to", "1").stdout
    assert out.strip() == "app shop unchanged: it already runs that version"
    assert [r["version"] for r in history(server)] == [1, 2, 3]
