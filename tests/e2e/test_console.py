"""The web console in a real Chromium (Debian's package, driven by Playwright), and the
metrics of the server and the agents, against the testbed running the demo app.

A user logs in with a token from `dockyard console-token`, sees the three tiers drawn as
start waves and each tier's tasks in the boxes of the nodes that run them, then cuts a
host off and watches its php task move to another node's box, live.
"""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.amp.build import build
from dockyard.deploy.testbed import TestbedStatus
from dockyard.deploy.testbed.layout import AGENT_HTTP_PORT
from tests.e2e.harness import EXAMPLE, cli, cli_json, example_secrets, wait_for

pytestmark = pytest.mark.e2e

APP = "consoleamp"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def scrape(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return str(r.read().decode())


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample in exposition text, or None."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-z_:]+)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


@pytest.fixture(scope="module")
def demo(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo app under its own name, up and healthy; yields the app name."""
    build(engine_socket=bed.hosts[0].docker_socket, registry=bed.registry)
    f = tmp_path_factory.mktemp("console") / "compose.yaml"
    f.write_text(EXAMPLE.read_text().replace("name: amp\n", f"name: {APP}\n", 1))
    example_secrets(f.parent)
    out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "300")
    assert f"app {APP} is up" in out.stdout, out.stdout
    yield APP
    cli(bed, "delete", "app", APP)


@pytest.fixture
def page(bed: TestbedStatus) -> Iterator[Any]:
    """A Chromium page logged in to the console with a fresh console token."""
    from playwright.sync_api import sync_playwright

    token = cli(bed, "console-token", "--quiet", "--ttl", "1h").stdout.strip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(30_000)
            tab.goto(f"http://{bed.http}/")
            assert tab.url.endswith("/login")  # not logged in yet: sent to the login page
            tab.fill("#token", token)
            tab.click("button[type=submit]")
            tab.wait_for_url(f"http://{bed.http}/")
            yield tab
        finally:
            browser.close()


def where(tab: Any, app: str) -> dict[str, str]:
    """Which node box each of the app's task chips is in, as the page shows it."""
    chips = tab.eval_on_selector_all(
        f'.node [data-task^="{app}/"]',
        "els => els.map(e => [e.dataset.task, e.closest('.node').dataset.node, e.className])")
    return {task: node for task, node, cls in chips if "shutdown" not in cls}


def test_metrics_after_the_demo_deploy_on_the_server_and_the_agents(
    bed: TestbedStatus, demo: str
) -> None:
    def settled() -> str | None:
        text = scrape(f"http://{bed.http}/metrics")
        counts = [sample(text, "dockyard_service_replicas", app=demo, service=tier, state=s)
                  for tier in ("db", "php", "web") for s in ("desired", "healthy")]
        return text if counts == [1, 1, 2, 2, 2, 2] else None

    server = wait_for("every tier healthy in the server's metrics", settled, timeout_s=120)
    assert (sample(server, "dockyard_apply_seconds_count") or 0) >= 1
    assert (sample(server, "dockyard_reconcile_round_seconds_count") or 0) >= 1
    assert (sample(server, "dockyard_placement_seconds_count") or 0) >= 1
    assert (sample(server, "dockyard_task_transitions_total", state="running") or 0) >= 5
    assert (sample(server, "dockyard_agent_sessions") or 0) >= len(bed.hosts)
    for h in bed.hosts:
        assert sample(server, "dockyard_node_cpu_capacity_cores", node=h.name) == 2
        age = sample(server, "dockyard_node_heartbeat_age_seconds", node=h.name)
        assert age is not None and age < 10

    tasks = cli_json(bed, "get", "tasks", "--app", demo)
    busy = {t["node"] for t in tasks if t["desired"] == "running"}
    starts = 0.0
    for h in bed.hosts:
        agent = scrape(f"http://{h.address}:{AGENT_HTTP_PORT}/metrics")
        assert "dockyard_agent_image_pull_seconds_bucket" in agent
        assert "# TYPE dockyard_agent_container_failures_total counter" in agent
        if h.name in busy:
            starts += sample(agent, "dockyard_agent_container_starts_total") or 0
    assert starts >= 5  # 1 db + 2 php + 2 web, at least


def test_the_console_shows_the_tiers_their_nodes_and_a_task_moving(
    bed: TestbedStatus, demo: str, page: Any
) -> None:
    tab = page
    tab.wait_for_selector(f'[data-app="{demo}"] [data-service="{demo}/web"]')
    tab.wait_for_function("document.getElementById('live').textContent === 'live'")
    for tier in ("db", "php", "web"):
        assert tab.locator(f'[data-app="{demo}"] [data-service="{demo}/{tier}"]').count() == 1
        assert tab.locator(f'#services tr[data-service="{demo}/{tier}"]').count() == 1
    waves = tab.eval_on_selector_all(
        f'[data-app="{demo}"] g.svc',
        "els => els.map(e => [e.dataset.service, e.getAttribute('transform')])")
    x = {svc.split("/")[1]: float(re.findall(r"[\d.]+", t)[0]) for svc, t in waves}
    assert x["db"] < x["php"] < x["web"], x  # start waves left to right

    tasks = [t for t in cli_json(bed, "get", "tasks", "--app", demo)
             if t["desired"] == "running"]
    shown = wait_for("every task in its node's box", lambda: (
        w := where(tab, demo)) and len(w) >= len(tasks) and w, timeout_s=30)
    for t in tasks:
        assert shown[f"{demo}/{t['service']}/{t['slot']}"] == t["node"], (t, shown)
    assert tab.locator('.node [data-bar="cpu"]').count() == len(bed.hosts)

    db_node = next(t["node"] for t in tasks if t["service"] == "db")
    php = sorted((t for t in tasks if t["service"] == "php"),
                 key=lambda t: t["node"] == db_node)[0]
    chip = f"{demo}/php/{php['slot']}"
    cut = str(php["node"])
    testbed.cut_link(cut)
    try:
        moved = wait_for(f"{chip} to leave {cut} on the page", lambda: (
            node := where(tab, demo).get(chip)) and node != cut and node, timeout_s=90)
        assert moved in {h.name for h in bed.hosts} - {cut}
        tab.wait_for_selector(f'.node.down[data-node="{cut}"]', timeout=30_000)
        events = tab.locator("#events").inner_text()
        assert cut in events, events[-2000:]
    finally:
        testbed.restore_link(cut)
    wait_for(f"{cut} ready again", lambda: any(
        n["name"] == cut and n["state"] == "ready" for n in cli_json(bed, "get", "nodes")),
        timeout_s=60)
