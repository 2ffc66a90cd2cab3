"""The node's Docker bridge network, `dockyard0`, with the node's subnet.

Containers join it instead of docker0, so a stock engine (no `--bip`) is enough: the
agent makes the network on first start and adopts it afterwards. A network found with
another subnet is re-made only when no container uses it; otherwise that is an error the
operator must settle (the node's containers would lose their addresses).
"""

from __future__ import annotations

import logging
from typing import Any

import docker
import docker.errors
from docker.types import IPAMConfig, IPAMPool

from dockyard.agent.network.plan import BRIDGE_NAME, gateway_of

log = logging.getLogger("dockyard.agent.network")

LABEL = "io.dockyard.network"


class BridgeError(Exception):
    """The bridge network cannot be made or adopted, in one line."""


def _subnet_of(attrs: dict[str, Any]) -> str:
    for cfg in (attrs.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Subnet"):
            return str(cfg["Subnet"])
    return ""


def ensure_bridge(docker_url: str, subnet: str, *, mtu: int) -> str:
    """Make or adopt `dockyard0` with `subnet`; returns its gateway address."""
    gateway = gateway_of(subnet)
    client = docker.DockerClient(base_url=docker_url, timeout=60)
    try:
        return _ensure(client, subnet, gateway, mtu)
    except docker.errors.DockerException as exc:
        raise BridgeError(f"network {BRIDGE_NAME}: {exc}") from None
    finally:
        client.close()


def _ensure(client: docker.DockerClient, subnet: str, gateway: str, mtu: int) -> str:
    api = client.api
    found = api.networks(names=[BRIDGE_NAME])
    for net in found:
        if net.get("Name") != BRIDGE_NAME:
            continue
        attrs = api.inspect_network(net["Id"])
        have = _subnet_of(attrs)
        if have == subnet:
            log.info("adopted network %s (%s)", BRIDGE_NAME, subnet)
            return gateway
        if attrs.get("Containers"):
            raise BridgeError(
                f"network {BRIDGE_NAME} has subnet {have} but this node was given {subnet}, "
                f"and containers still use it; remove them (or the network) and restart"
            )
        api.remove_network(net["Id"])
        log.info("removed network %s with the old subnet %s", BRIDGE_NAME, have)
    api.create_network(
        BRIDGE_NAME,
        driver="bridge",
        ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)]),
        options={
            "com.docker.network.bridge.name": BRIDGE_NAME,
            "com.docker.network.driver.mtu": str(mtu),
        },
        labels={LABEL: "node"},
    )
    log.info("made network %s (%s, gateway %s, mtu %d)", BRIDGE_NAME, subnet, gateway, mtu)
    return gateway


def remove_bridge(docker_url: str) -> bool:
    """Remove `dockyard0` if no container uses it; True if it is gone."""
    client = docker.DockerClient(base_url=docker_url, timeout=60)
    try:
        for net in client.api.networks(names=[BRIDGE_NAME]):
            if net.get("Name") == BRIDGE_NAME:
                client.api.remove_network(net["Id"])
        return True
    except docker.errors.DockerException as exc:
        log.warning("network %s kept: %s", BRIDGE_NAME, exc)
        return False
    finally:
        client.close()
