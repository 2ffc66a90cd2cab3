"""The AMP app's database keeps its data on real hosts: a drain leaves db where its
volume is and says so, `drain --force` makes it wait for its volume, a cut host keeps db
pending with the volume reason until the host returns (the row written before is still
there), and with `volumes: recreate` db moves and says it started on an empty volume."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.amp.build import build
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import EXAMPLE, cli, cli_json, engine, example_secrets, wait_for

pytestmark = pytest.mark.e2e

WRITTEN = "written before the host was cut"


def amp_file(tmp: Path, *, recreate: bool = False) -> Path:
    """The AMP example as app `vol` (its own volume), web on port 8081."""
    text = EXAMPLE.read_text().replace("name: amp\n", "name: vol\n", 1)
    text = text.replace('"8080:80"', '"8081:80"', 1)
    if recreate:
        text = text.replace("    stop_grace_period: 30s\n",
                            "    stop_grace_period: 30s\n    x-dockyard: {volumes: recreate}\n", 1)
    out = tmp / ("recreate.yaml" if recreate else "compose.yaml")
    out.write_text(text)
    example_secrets(tmp)
    return out


def db(bed: TestbedStatus) -> dict[str, Any] | None:
    live = [t for t in cli_json(bed, "get", "tasks", "--app", "vol")
            if t["service"] == "db" and t["desired"] == "running"]
    return live[0] if len(live) == 1 else None


def db_running(bed: TestbedStatus) -> dict[str, Any] | None:
    t = db(bed)
    return t if t is not None and t["state"] == "running" and t["health"] == "healthy" else None


def row(bed: TestbedStatus) -> str | None:
    """The greeting row, as the page shows it through web and php."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for h in bed.hosts:
        try:
            with opener.open(f"http://{h.address}:8081/", timeout=5) as r:
                text = str(r.read().decode())
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("row from MariaDB: "):
                return line.removeprefix("row from MariaDB: ")
    return None


def write_row(bed: TestbedStatus, task: dict[str, Any], message: str) -> None:
    """Change the row inside MariaDB, as the app's own user."""
    client = engine(bed, str(task["node"]))
    try:
        ex = client.api.exec_create(str(task["container_id"]), [
            "sh", "-c", 'mariadb -uamp -p"$(cat /run/secrets/db_password)" amp -e "$0"',
            f"UPDATE greeting SET message='{message}' WHERE id = 1"])
        output = client.api.exec_start(ex["Id"])
        assert client.api.exec_inspect(ex["Id"])["ExitCode"] == 0, output
    finally:
        client.close()


def waits_for_volume(bed: TestbedStatus, node: str, why: str) -> str:
    """Wait until db is pending for its volume on `node`; its reason."""
    def pending() -> str | None:
        t = db(bed)
        reason = str(t["message"]) if t is not None and not t["node"] else ""
        expected = f"waits for its volume db-data, which lives on {node} ({why}"
        return reason if reason.startswith(expected) else None
    return str(wait_for(f"db waiting for its volume on {node}", pending, timeout_s=60))


def stays_off_other_nodes(bed: TestbedStatus, node: str, seconds: float) -> None:
    """For a while, nothing places db anywhere but `node`."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds) * 2 + 1):
        t = db(bed)
        assert t is None or t["node"] in ("", node), f"db moved to {t['node']}"
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)


@pytest.fixture(scope="module")
def amp(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    build(engine_socket=bed.hosts[0].docker_socket, registry=bed.registry)
    f = amp_file(tmp_path_factory.mktemp("vol"))
    out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "300")
    assert "app vol is up" in out.stdout, out.stdout
    yield f
    for h in bed.hosts:
        testbed.restore_link(h.name)
        cli(bed, "node", "activate", h.name, check=False)
    cli(bed, "delete", "app", "vol", "--volumes", check=False)


def test_get_volumes_shows_where_the_data_lives(bed: TestbedStatus, amp: Path) -> None:
    home = wait_for("db-data bound", lambda: next(
        (v["node"] for v in cli_json(bed, "get", "volumes", "--app", "vol")
         if v["name"] == "db-data" and v["node"]), None), timeout_s=30)
    task = db_running(bed)
    assert task is not None and task["node"] == home
    (volume,) = cli_json(bed, "get", "volumes", "--app", "vol")
    assert [(u["service"], u["node"]) for u in volume["tasks"]] == [("db", home)]


def test_drain_keeps_db_and_drain_force_makes_it_wait(bed: TestbedStatus, amp: Path) -> None:
    task = wait_for("db running", lambda: db_running(bed), timeout_s=120)
    home = str(task["node"])
    out = cli(bed, "node", "drain", home)
    assert f"vol/db.1 stays on {home}: it holds the node-local volume db-data" in out.stderr
    stays_off_other_nodes(bed, home, 8)
    still = db(bed)
    assert still is not None and still["id"] == task["id"] and still["state"] == "running"

    cli(bed, "node", "drain", home, "--force")
    waits_for_volume(bed, home, "node drained")
    stays_off_other_nodes(bed, home, 10)
    cli(bed, "node", "activate", home)
    back = wait_for("db back on its node", lambda: db_running(bed), timeout_s=180)
    assert back["node"] == home


def test_a_cut_host_keeps_db_pending_until_it_returns_with_the_row(
    bed: TestbedStatus, amp: Path
) -> None:
    task = wait_for("db running", lambda: db_running(bed), timeout_s=180)
    home = str(task["node"])
    wait_for("the page", lambda: row(bed), timeout_s=120)
    write_row(bed, task, WRITTEN)
    assert wait_for("the written row", lambda: row(bed) == WRITTEN or None, timeout_s=60)

    testbed.cut_link(home)
    try:
        reason = waits_for_volume(bed, home, "down since ")
        stays_off_other_nodes(bed, home, 10)
        described = cli(bed, "describe", "app", "vol").stdout
        assert f"db.1 {reason}" in described  # the event, as describe lists it
        assert reason in described  # the task's own line
        waited = cli(bed, "apply", "-f", str(amp), "--wait", "--timeout", "5", check=False)
        assert waited.returncode == 1 and f"db.1 {reason}" in waited.stdout + waited.stderr
    finally:
        testbed.restore_link(home)
    back = wait_for("db back on its host", lambda: db_running(bed), timeout_s=240)
    assert back["node"] == home
    assert wait_for("the row after", lambda: row(bed) == WRITTEN or None, timeout_s=180)


def test_recreate_moves_db_onto_an_empty_volume_and_says_so(
    bed: TestbedStatus, amp: Path
) -> None:
    f = amp_file(amp.parent, recreate=True)
    cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "300")
    task = wait_for("db running", lambda: db_running(bed), timeout_s=180)
    home = str(task["node"])
    testbed.cut_link(home)
    try:
        moved = wait_for("db moved", lambda: (t := db_running(bed)) and t["node"] != home
                         and t, timeout_s=240)
        said = (f"db.1 started on an empty volume db-data on {moved['node']} "
                f"(volumes: recreate); its old data stays on {home}")
        wait_for("the event", lambda: said in cli(bed, "describe", "app", "vol").stdout,
                 timeout_s=30)
        # An empty volume: MariaDB made its first row again, not the one written before.
        assert wait_for("the page", lambda: row(bed), timeout_s=180) != WRITTEN
    finally:
        testbed.restore_link(home)
