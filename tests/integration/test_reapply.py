"""The file is the source of truth, against a real server: `scale` says the next apply
resets the count, a re-apply sets the stored count back to the file's and says so, and a
second re-apply says "unchanged"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.harness import ServerProcess, run_cli
from tests.integration.test_server_cli import SMALL

pytestmark = pytest.mark.integration


@pytest.fixture
def applied(server: ServerProcess, tmp_path: Path) -> Path:
    """The shop app (web: 3 replicas in the file), applied; the file's path."""
    f = tmp_path / "compose.yaml"
    f.write_text(SMALL)
    run_cli(server, "apply", "-f", str(f))
    return f


def stored_replicas(server: ServerProcess) -> dict[str, int]:
    rows = json.loads(run_cli(server, "get", "services", "--app", "shop", "-o", "json").stdout)
    return {r["service"]: int(r["replicas"]) for r in rows}


def test_reapply_after_scale_restores_the_files_count_and_says_so(
    server: ServerProcess, applied: Path
) -> None:
    scaled = run_cli(server, "scale", "shop/web=5")
    assert "shop/web scaled to 5" in scaled.stdout
    assert "the next apply sets web back to 3 replicas" in scaled.stderr
    assert stored_replicas(server)["web"] == 5

    reapplied = run_cli(server, "apply", "-f", str(applied)).stdout
    assert ("shop/web updated: replicas 5 -> 3 (the file's value; it was scaled by hand)"
            in reapplied)
    assert "shop/db unchanged" in reapplied
    assert stored_replicas(server) == {"db": 1, "web": 3}

    again = run_cli(server, "apply", "-f", str(applied)).stdout
    assert "shop/web unchanged" in again and "updated" not in again

    as_json = json.loads(run_cli(server, "apply", "-f", str(applied), "-o", "json").stdout)
    assert {c["action"] for c in as_json["changes"]} == {"unchanged"}


def test_scale_to_the_files_count_prints_no_note(server: ServerProcess, applied: Path) -> None:
    out = run_cli(server, "scale", "shop/web=3")
    assert "scaled to 3" in out.stdout and "next apply" not in out.stderr
