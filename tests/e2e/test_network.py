"""The network the agents build on stock engines: node subnets from the control plane,
routes between hosts, service names across hosts, outside names through the host's
upstream resolver, and all of it kept across agent and server restarts."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.conftest import BED_ARGS
from tests.e2e.harness import apply_text, cli, cli_json, engine, wait_for

pytestmark = pytest.mark.e2e

APP = "netx"


def compose(image: str) -> str:
    return f"""
name: {APP}
services:
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "80", "-h", "/var/www"]
    deploy:
      placement:
        constraints: [node.hostname==h2]
  client:
    image: {image}
    command: ["sleep", "3600"]
    deploy:
      placement:
        constraints: [node.hostname==h1]
"""


def subnets(bed: TestbedStatus) -> dict[str, str]:
    return {n["name"]: n["subnet"] for n in cli_json(bed, "get", "nodes")}


def client_container(bed: TestbedStatus) -> Any:
    c = engine(bed, "h1")
    found = c.containers.list(filters={"label": [f"io.dockyard.app={APP}",
                                                 "io.dockyard.service=client"]})
    return found[0] if found else None


def run_in_client(bed: TestbedStatus, script: str) -> tuple[int, str]:
    box = client_container(bed)
    if box is None:
        return -1, "no client container"
    res = box.exec_run(["sh", "-c", script])
    return int(res.exit_code), res.output.decode(errors="replace")


def fetch_web(bed: TestbedStatus, at: str = "web") -> str | None:
    """The page of `web` (on h2), fetched from `client` (on h1) by service name, or at
    an address."""
    code, out = run_in_client(bed, f"timeout 5 wget -q -O - http://{at}/")
    return out if code == 0 and "hello from dockyard testbed" in out else None


def web_address(bed: TestbedStatus) -> str:
    c = engine(bed, "h2")
    try:
        box = c.containers.list(filters={"label": [f"io.dockyard.app={APP}",
                                                   "io.dockyard.service=web"]})[0]
        return str(box.attrs["NetworkSettings"]["Networks"]["dockyard0"]["IPAddress"])
    finally:
        c.close()


@pytest.fixture(scope="module")
def app(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    apply_text(bed, tmp_path_factory.mktemp(APP), compose(bed.image))
    try:
        wait_for("web reachable by name across hosts", lambda: fetch_web(bed), timeout_s=90)
        yield APP
    finally:
        cli(bed, "delete", "app", APP, check=False)


def test_nodes_get_distinct_subnets_and_stock_engines_keep_docker0(bed: TestbedStatus) -> None:
    got = wait_for("every node's subnet",
                   lambda: (s := subnets(bed)) and len(s) == 3 and all(s.values()) and s)
    cidr = ipaddress.IPv4Network("10.214.0.0/16")
    nets = [ipaddress.IPv4Network(s) for s in got.values()]
    assert len(set(nets)) == 3 and all(n.subnet_of(cidr) for n in nets)
    for h in bed.hosts:
        c = engine(bed, h.name)
        try:
            own = c.networks.get("dockyard0").attrs["IPAM"]["Config"][0]["Subnet"]
            assert own == got[h.name]
            docker0 = c.networks.get("bridge").attrs["IPAM"]["Config"][0]["Subnet"]
            assert not ipaddress.IPv4Network(docker0).overlaps(cidr)  # no --bip
        finally:
            c.close()


def test_service_name_reaches_across_hosts(bed: TestbedStatus, app: str) -> None:
    assert fetch_web(bed) is not None
    tasks = {t["service"]: t for t in cli_json(bed, "get", "tasks", "--app", app)}
    assert (tasks["web"]["node"], tasks["client"]["node"]) == ("h2", "h1")


def test_outside_name_resolves_through_the_agent(bed: TestbedStatus, app: str) -> None:
    code, out = run_in_client(bed, "nslookup registry.testbed")
    assert code == 0, out
    assert "10.213.0.1" in out.split("registry.testbed", 1)[-1]
    code, conf = run_in_client(bed, "cat /etc/resolv.conf")
    assert "search netx.dockyard" in conf


def test_subnets_and_connectivity_survive_agent_and_server_restarts(
    bed: TestbedStatus, app: str
) -> None:
    before = subnets(bed)
    ip = web_address(bed)
    for host in ("h1", "h2"):
        assert testbed.kill_agent(host) is not None
        assert fetch_web(bed, ip) is not None  # no agent: routes and rules stay
        testbed.start_agent(host)
        assert fetch_web(bed, ip) is not None  # a new agent adopts them, unbroken
        # names come back once the agent has its session again
        wait_for("web by name after the agent restart", lambda: fetch_web(bed), timeout_s=30)
    assert testbed.kill_server() is not None
    assert fetch_web(bed, ip) is not None
    testbed.up(**BED_ARGS)
    wait_for("nodes back after the server restart",
             lambda: all(n["state"] == "ready" for n in cli_json(bed, "get", "nodes")),
             timeout_s=60)
    assert subnets(bed) == before
    assert fetch_web(bed, ip) is not None
    wait_for("web still reachable by name", lambda: fetch_web(bed), timeout_s=30)


def test_agent_rules_are_tagged_and_single(bed: TestbedStatus, app: str) -> None:
    for h in bed.hosts:
        out = subprocess.run(
            ["nsenter", f"--net=/var/run/netns/{h.netns}", "--", "iptables", "-w", "-S",
             "DOCKER-USER"], capture_output=True, text=True, check=True).stdout
        ours = [ln for ln in out.splitlines() if "dockyard-network" in ln]
        assert ours == ["-A DOCKER-USER -s 10.214.0.0/16 -d 10.214.0.0/16 -m comment "
                        "--comment dockyard-network -j ACCEPT"]
        assert out.splitlines()[1] == ours[0]  # first in its chain
