"""The network the agents build on stock engines: node subnets from the control plane,
routes between hosts (host-gw on a segment, VXLAN across the router to h3's), service
names and aliases across segments, outside names through the host's upstream resolver,
isolation between apps and between an app's networks, the routing mesh on every node,
and all of it kept across agent and server restarts."""

from __future__ import annotations

import ipaddress
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.conftest import BED_ARGS
from tests.e2e.harness import apply_text, cli, cli_json, engine, wait_for

pytestmark = pytest.mark.e2e

APP = "netx"
OTHER = "nety"
MESH_PORT = 8090


def compose(image: str) -> str:
    return f"""
name: {APP}
services:
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "80", "-h", "/var/www"]
    ports: ["{MESH_PORT}:80"]
    networks:
      front:
        aliases: [www]
    deploy:
      placement:
        constraints: [node.hostname==h3]
  client:
    image: {image}
    command: ["sleep", "3600"]
    networks: [front]
    deploy:
      placement:
        constraints: [node.hostname==h1]
  lonely:
    image: {image}
    command: ["sleep", "3600"]
    networks: [back]
    deploy:
      placement:
        constraints: [node.hostname==h2]
networks:
  front: {{}}
  back: {{}}
"""


def other_app(image: str) -> str:
    return f"""
name: {OTHER}
services:
  stranger:
    image: {image}
    command: ["sleep", "3600"]
    deploy:
      placement:
        constraints: [node.hostname==h1]
"""


def subnets(bed: TestbedStatus) -> dict[str, str]:
    return {n["name"]: n["subnet"] for n in cli_json(bed, "get", "nodes")}


def container_of(bed: TestbedStatus, host: str, service: str, app: str = APP) -> Any:
    c = engine(bed, host)
    found = c.containers.list(filters={"label": [f"io.dockyard.app={app}",
                                                 f"io.dockyard.service={service}"]})
    return found[0] if found else None


def run_in(bed: TestbedStatus, host: str, service: str, script: str,
           app: str = APP) -> tuple[int, str]:
    box = container_of(bed, host, service, app)
    if box is None:
        return -1, f"no {service} container"
    res = box.exec_run(["sh", "-c", script])
    return int(res.exit_code), res.output.decode(errors="replace")


def run_in_client(bed: TestbedStatus, script: str) -> tuple[int, str]:
    return run_in(bed, "h1", "client", script)


def fetch_web(bed: TestbedStatus, at: str = "web") -> str | None:
    """The page of `web` (on h3, the other segment), fetched from `client` (on h1) by
    service name, or at an address."""
    code, out = run_in_client(bed, f"timeout 5 wget -q -O - http://{at}/")
    return out if code == 0 and "hello from dockyard testbed" in out else None


def web_address(bed: TestbedStatus) -> str:
    c = engine(bed, "h3")
    try:
        box = c.containers.list(filters={"label": [f"io.dockyard.app={APP}",
                                                   "io.dockyard.service=web"]})[0]
        return str(box.attrs["NetworkSettings"]["Networks"]["dockyard0"]["IPAddress"])
    finally:
        c.close()


@pytest.fixture(scope="module")
def app(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    apply_text(bed, tmp_path_factory.mktemp(APP), compose(bed.image))
    apply_text(bed, tmp_path_factory.mktemp(OTHER), other_app(bed.image))
    try:
        wait_for("web reachable by name across hosts", lambda: fetch_web(bed), timeout_s=90)
        wait_for("the other app's task", lambda: container_of(bed, "h1", "stranger", OTHER),
                 timeout_s=60)
        wait_for("lonely's task", lambda: container_of(bed, "h2", "lonely"), timeout_s=60)
        yield APP
    finally:
        cli(bed, "delete", "app", APP, check=False)
        cli(bed, "delete", "app", OTHER, check=False)


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
    assert (tasks["web"]["node"], tasks["client"]["node"]) == ("h3", "h1")


def test_host_gw_on_a_segment_and_vxlan_across(bed: TestbedStatus) -> None:
    nets = subnets(bed)
    routes = subprocess.run(["ip", "-n", "dyk-h1", "-4", "route", "show", "proto", "214"],
                            capture_output=True, text=True, check=True).stdout
    assert f"{nets['h2']} via 10.213.0.12 dev eth0" in routes  # same segment: host-gw
    across = [ln for ln in routes.splitlines() if ln.startswith(f"{nets['h3']} via")]
    assert across and "dev dockyard.vx" in across[0] and "onlink" in across[0]  # VXLAN


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
    for host in ("h1", "h3"):
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
        assert ours == ["-A DOCKER-USER -m comment --comment dockyard-network "
                        "-j DOCKYARD-FORWARD"]
        assert out.splitlines()[1] == ours[0]  # first in its chain


def test_network_alias_answers(bed: TestbedStatus, app: str) -> None:
    assert fetch_web(bed, "www") is not None


def reaches(bed: TestbedStatus, host: str, service: str, ip: str, app: str = APP) -> bool:
    code, _out = run_in(bed, host, service, f"timeout 4 wget -q -O /dev/null http://{ip}/",
                        app)
    return code == 0


def test_networks_isolate_inside_an_app_and_apps_from_each_other(
    bed: TestbedStatus, app: str
) -> None:
    ip = web_address(bed)
    assert fetch_web(bed, ip) is not None  # client shares "front" with web
    assert not reaches(bed, "h2", "lonely", ip)  # "back" only: no way to web
    assert not reaches(bed, "h1", "stranger", ip, app=OTHER)  # another app, client's host


def page_from(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=4) as r:
            text = r.read().decode()
    except OSError:
        return None
    return text if "hello from dockyard testbed" in text else None


def test_published_port_answers_on_every_node(bed: TestbedStatus, app: str) -> None:
    """Only h3 runs web; the routing mesh answers on h1 and h2 as well."""
    for h in bed.hosts:
        url = f"http://{h.address}:{MESH_PORT}/"
        assert wait_for(f"the page from {h.name}", lambda url=url: page_from(url),
                        timeout_s=30)
