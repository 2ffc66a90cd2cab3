"""A re-apply that changes only how a service rolls out (`deploy.update_config`,
`deploy.rollback_config`, `deploy.labels`) stores it and replaces no task, and the
apply's output says what changed; a change the containers see still replaces them.
Real processes: the server with its etcd, hollow agents, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import dockyard as run
from tests.integration.harness import hollow_cluster

pytestmark = pytest.mark.integration

APP = """
name: shop
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    environment:
      GREETING: "{greeting}"
    deploy:
      replicas: 3
      labels:
        team: "{team}"
      update_config:
        parallelism: {parallelism}
        order: stop-first
"""

ROLLBACK = """      rollback_config:
        parallelism: 3
"""


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[dict[str, str]]:
    with hollow_cluster(tmp_path, 2) as env:
        yield env


def running_tasks(cli: dict[str, str]) -> dict[int, str]:
    """slot -> task id of the web tasks that run and are meant to."""
    tasks = json.loads(run(cli, "get", "tasks", "--app", "shop", "-o", "json").stdout)
    return {t["slot"]: t["id"] for t in tasks
            if t["state"] == "running" and t["desired"] == "running"}


def apply(cli: dict[str, str], compose: Path, text: str) -> str:
    compose.write_text(text)
    return run(cli, "apply", "-f", str(compose), "--wait", "--timeout", "60").stdout


def test_rollout_settings_alone_keep_every_task(cli: dict[str, str], tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    apply(cli, compose, APP.format(greeting="hi", team="a", parallelism=1))
    before = running_tasks(cli)
    assert sorted(before) == [1, 2, 3]

    out = apply(cli, compose, APP.format(greeting="hi", team="b", parallelism=2) + ROLLBACK)
    assert ("shop/web updated: deploy.update_config, deploy.rollback_config, deploy.labels "
            "changed (running tasks kept)") in out
    assert running_tasks(cli) == before
    versions = json.loads(run(cli, "history", "shop", "-o", "json").stdout)
    assert len(versions) == 2  # the new settings are a kept version

    again = apply(cli, compose, APP.format(greeting="hi", team="b", parallelism=2) + ROLLBACK)
    assert "shop/web unchanged" in again

    # What the containers see still replaces them.
    out = apply(cli, compose, APP.format(greeting="hello", team="b", parallelism=2) + ROLLBACK)
    assert "shop/web updated: new spec" in out
    after = running_tasks(cli)
    assert sorted(after) == [1, 2, 3] and not set(after.values()) & set(before.values())
