"""`dockyard apply --dry-run` on hollow nodes through the real server: it names, per
new task, the real node it would run on (or why it would wait), stores nothing, and a
real apply then puts the tasks just there.

Real processes: the server with its etcd, three hollow agents (real sessions and
heartbeats over an in-memory runtime), and the CLI. Each hollow node offers 16 CPUs, so
replicas that reserve 10 each take one node apiece, and a fourth waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.common.polling import wait_for
from tests.integration.hollow import as_json, hollow_cluster, run

pytestmark = pytest.mark.integration

APP = """
name: placed
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    deploy:
      replicas: 4
      resources: {reservations: {cpus: "10"}}
  cache:
    image: busybox
    command: ["sleep", "3600"]
    deploy:
      resources: {reservations: {cpus: "4", memory: 1G}}
"""


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[dict[str, str]]:
    with hollow_cluster(tmp_path, 3) as env:
        yield env


def test_the_dry_run_names_the_nodes_a_real_apply_then_uses(cli: dict[str, str],
                                                             tmp_path: Path) -> None:
    nodes = wait_for("3 ready nodes", lambda: (lambda ready: ready if len(ready) == 3 else None)(
        sorted(n["name"] for n in as_json(cli, "get", "nodes") if n["state"] == "ready")),
        timeout_s=60)
    compose = tmp_path / "compose.yaml"
    compose.write_text(APP)

    dry = as_json(cli, "apply", "-f", str(compose), "--dry-run")
    assert dry["dry_run"] is True
    said = {c["service"]: c["placements"] for c in dry["changes"]}
    assert [p["slot"] for p in said["web"]] == [1, 2, 3, 4]
    web_nodes = [p["node"] for p in said["web"][:3]]
    assert sorted(web_nodes) == nodes  # one node apiece, each a real one
    assert said["web"][3]["node"] == ""
    assert said["web"][3]["pending"].startswith("0/3 nodes fit: 3 insufficient cpu"), said
    assert said["cache"][0]["node"] in nodes and said["cache"][0]["pending"] == ""
    assert as_json(cli, "get", "apps") == [], "a dry run stored something"

    text = run(cli, "apply", "-f", str(compose), "--dry-run").stdout
    assert f"placed/web would be created\n  web.1 would run on {web_nodes[0]}" in text
    assert "  web.4 would wait: 0/3 nodes fit: 3 insufficient cpu" in text

    run(cli, "apply", "-f", str(compose))

    def placed() -> dict[tuple[str, int], str] | None:
        tasks = as_json(cli, "get", "tasks", "--app", "placed")
        on = {(t["service"].rpartition("/")[2], t["slot"]): t["node"] for t in tasks}
        return on if len(on) == 5 and sum(1 for n in on.values() if n) == 4 else None

    real = wait_for("4 tasks placed", placed, timeout_s=60)
    assert real == {**{("web", p["slot"]): p["node"] for p in said["web"]},
                    ("cache", 1): said["cache"][0]["node"]}
