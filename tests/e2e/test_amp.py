"""The AMP app for real: ordered, health-gated startup across hosts; restart on dependency
restart; the page served with its MariaDB row."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.deploy.amp.build import build
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import cli, cli_json, engine, example_secrets, wait_for

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amp" / "compose.yaml"


def pinned_example(tmp: Path) -> Path:
    """The example with each tier on other hosts than the one it needs, so ordering
    crosses hosts: db on h1, php on h2, web (one per node) on h1 and h3."""
    text = EXAMPLE.read_text()
    for tier, host in (("db", "==h1"), ("php", "==h2"), ("web", "!=h2")):
        text = text.replace(
            f"image: *{tier}-image\n",
            f"image: *{tier}-image\n    x-pinned: {host}\n", 1)
    lines = []
    pinned = ""
    for line in text.splitlines():
        if line.strip().startswith("x-pinned:"):
            pinned = line.split(":", 1)[1].strip()
            continue
        lines.append(line)
        if pinned and line.strip() == "deploy:":
            lines.append(f"      placement:\n        constraints: [node.hostname{pinned}]")
            pinned = ""
    out = tmp / "compose.yaml"
    out.write_text("\n".join(lines) + "\n")
    example_secrets(tmp)
    return out


def page(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as r:
        return str(r.read().decode())


def page_ok(url: str) -> str | None:
    try:
        text = page(url)
    except OSError:
        return None
    return text if "row from MariaDB" in text else None


def own_page(url: str, node: str) -> str | None:
    """The page, if it came from the web replica on `node`."""
    text = page_ok(url)
    return text if text is not None and f"web (Apache) on node: {node}" in text else None


@pytest.fixture(scope="module")
def amp(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    build(engine_socket=bed.hosts[0].docker_socket, registry=bed.registry)
    f = pinned_example(tmp_path_factory.mktemp("amp"))
    out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "240")
    assert "app amp is up" in out.stdout, out.stdout
    yield f
    cli(bed, "delete", "app", "amp")


def by_service(bed: TestbedStatus) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for t in cli_json(bed, "get", "tasks", "--app", "amp"):
        if t["desired"] == "running":
            out.setdefault(str(t["service"]), []).append(t)
    return out


def test_tiers_start_in_order_across_hosts(bed: TestbedStatus, amp: Path) -> None:
    tasks = by_service(bed)
    assert {t["node"] for t in tasks["db"]} == {"h1"}
    assert {t["node"] for t in tasks["php"]} == {"h2"}
    assert {t["node"] for t in tasks["web"]} == {"h1", "h3"}
    db_healthy = max(int(t["healthy_ms"]) for t in tasks["db"])  # type: ignore[call-overload]
    php_started = min(int(t["started_ms"]) for t in tasks["php"])  # type: ignore[call-overload]
    php_healthy = max(int(t["healthy_ms"]) for t in tasks["php"])  # type: ignore[call-overload]
    web_started = min(int(t["started_ms"]) for t in tasks["web"])  # type: ignore[call-overload]
    assert 0 < db_healthy <= php_started, "php started before the db was healthy"
    assert 0 < php_healthy <= web_started, "web started before php was healthy"


def test_page_shows_the_row_and_the_hosts(bed: TestbedStatus, amp: Path) -> None:
    h3 = next(h for h in bed.hosts if h.name == "h3")
    # h3 runs web: once its network table lists its own replica (tables go out at most
    # twice a second), the mesh there answers from it.
    text = wait_for("the page from h3's own web",
                    lambda: own_page(f"http://{h3.address}:8080/", "h3"), timeout_s=30)
    assert "Hello from MariaDB" in text
    assert "php (PHP-FPM) on node: h2" in text


def test_the_page_answers_on_every_node_through_the_mesh(bed: TestbedStatus, amp: Path) -> None:
    """web runs on h1 and h3 only; h2 (on h1's segment) answers port 8080 all the same,
    and each node that runs web serves the page from its own replica."""
    for h in bed.hosts:
        if h.name == "h2":
            text = wait_for(f"the page from {h.name}",
                            lambda h=h: page_ok(f"http://{h.address}:8080/"), timeout_s=30)
        else:  # a node running web answers from its own replica once its table lists it
            text = wait_for(f"the page from {h.name}'s own web",
                            lambda h=h: own_page(f"http://{h.address}:8080/", h.name),
                            timeout_s=30)
        assert "Hello from MariaDB" in text


def test_killing_the_db_restarts_php_after_db_is_healthy_again(
    bed: TestbedStatus, amp: Path
) -> None:
    before = by_service(bed)
    old_php = {str(t["id"]) for t in before["php"]}
    db = before["db"][0]
    client = engine(bed, str(db["node"]))
    try:
        client.api.kill(str(db["container_id"]))
    finally:
        client.close()

    def php_replaced() -> dict[str, list[dict[str, object]]] | None:
        now = by_service(bed)
        php = now.get("php", [])
        fresh = [t for t in php if str(t["id"]) not in old_php]
        ready = len(fresh) == 2 and all(t["health"] == "healthy" for t in fresh)
        return now if ready else None

    after = wait_for("php restarted after the db", php_replaced, timeout_s=90)
    db_healthy = max(int(t["healthy_ms"]) for t in after["db"])  # type: ignore[call-overload]
    php_started = min(int(t["started_ms"]) for t in after["php"])  # type: ignore[call-overload]
    assert db_healthy <= php_started, "php restarted before the db was healthy again"
    h3 = next(h for h in bed.hosts if h.name == "h3")
    wait_for("the page again", lambda: page_ok(f"http://{h3.address}:8080/"), timeout_s=30)


def test_cycle_and_missing_dependency_are_refused(bed: TestbedStatus, tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nservices:\n  a: {image: x, depends_on: [b]}\n"
                 "  b: {image: x, depends_on: [a]}\n")
    out = cli(bed, "apply", "-f", str(f), check=False)
    assert out.returncode == 1 and "dependency cycle: a -> b -> a" in out.stderr
    f.write_text("name: bad\nservices:\n  a: {image: x, depends_on: [zzz]}\n")
    out = cli(bed, "apply", "-f", str(f), check=False)
    assert out.returncode == 1 and "zzz" in out.stderr
    assert "bad" not in {a["name"] for a in cli_json(bed, "get", "apps")}
