"""Node-local volumes as a user meets them, on a real server and etcd with hollow agents
(real sessions, an in-memory runtime): `get volumes` shows where the data lives, a plain
drain leaves the task there and says why, `drain --force` makes it wait for its volume,
`volume forget` releases it, and `delete app --volumes` has the agents remove it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.common.polling import wait_for
from tests.integration.hollow import as_json, hollow_cluster, run

pytestmark = pytest.mark.integration
T = TypeVar("T")

APP = """
name: shop
services:
  db:
    image: busybox
    command: ["sleep", "3600"]
    volumes: [db-data:/data, cache:/cache]
volumes:
  db-data:
  cache:
    driver_opts: {type: tmpfs, device: tmpfs}
"""


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[dict[str, str]]:
    with hollow_cluster(tmp_path, 3) as env:
        yield env


def volumes(cli: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in as_json(cli, "get", "volumes")}


def db_task(cli: dict[str, str]) -> dict[str, Any] | None:
    live = [t for t in as_json(cli, "get", "tasks", "--app", "shop")
            if t["desired"] == "running" and t["service"] == "db"]
    return live[0] if len(live) == 1 else None


def until(what: str, check: Callable[[], T | None]) -> T:
    return wait_for(what, check, timeout_s=30)


def test_a_volume_follows_its_data_through_drain_forget_and_delete(
    cli: dict[str, str], tmp_path: Path
) -> None:
    until("3 nodes ready", lambda: len([n for n in as_json(cli, "get", "nodes")
                                        if n["state"] == "ready"]) == 3 or None)
    compose = tmp_path / "compose.yaml"
    compose.write_text(APP)
    run(cli, "apply", "-f", str(compose), "--wait", "--timeout", "60")
    home = until("db-data bound", lambda: volumes(cli)["db-data"]["node"] or None)
    shown = volumes(cli)
    assert shown["cache"]["driver"] == "local" and shown["cache"]["node"] == ""
    assert [(t["service"], t["node"]) for t in shown["db-data"]["tasks"]] == [("db", home)]
    table = run(cli, "get", "volumes").stdout
    assert "db-data" in table and home in table and "driver local" in table

    # A plain drain leaves db where its data is, and says so.
    out = run(cli, "node", "drain", home)
    assert f"shop/db.1 stays on {home}: it holds the node-local volume db-data" in out.stderr
    task = db_task(cli)
    assert task is not None and task["node"] == home and task["state"] == "running"

    # Forced, db stops and waits for its volume; nothing starts it on an empty one.
    run(cli, "node", "drain", home, "--force")
    waiting = until("db waiting", lambda: (t := db_task(cli)) and not t["node"] and t)
    assert waiting["message"] == (f"waits for its volume db-data, which lives on {home} "
                                  "(node drained)")
    described = run(cli, "describe", "app", "shop").stdout
    assert f"waits for its volume db-data, which lives on {home}" in described

    # Forgetting the binding lets it start elsewhere, on an empty volume.
    out = run(cli, "volume", "forget", "shop/db-data")
    assert f"the data stays on {home}" in out.stdout
    moved = until("db moved", lambda: (t := db_task(cli)) and t["state"] == "running" and t)
    assert moved["node"] not in ("", home)
    until("db-data bound again", lambda: volumes(cli)["db-data"]["node"] == moved["node"]
          or None)
    run(cli, "node", "activate", home)

    # Bad input: one line, nothing changed.
    for target, words in (("shop/nope", "app shop has no volume 'nope'"),
                          ("shop/cache", "is portable (driver local)"),
                          ("shop", "expected APP/VOLUME")):
        bad = run(cli, "volume", "forget", target, check=False)
        assert bad.returncode == 1 and words in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    assert volumes(cli)["db-data"]["node"] == moved["node"]

    # Delete keeps volumes by default; --volumes has the agents remove them.
    run(cli, "delete", "app", "shop")
    assert set(volumes(cli)) == {"db-data"}  # the binding outlives the app
    run(cli, "apply", "-f", str(compose), "--wait", "--timeout", "60")
    assert db_task(cli)["node"] == moved["node"]  # type: ignore[index]
    out = run(cli, "delete", "app", "shop", "--volumes")
    assert "volumes cache, db-data are removed from the nodes" in out.stdout
    until("volumes removed", lambda: volumes(cli) == {} or None)
