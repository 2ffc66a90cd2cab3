"""The agent's network, put together: on each registration the node's bridge, firewall
rules and VXLAN device; on each node table the routes, FDB and neighbour entries; on
each network table the isolation sets and the routing mesh (agent/network/policy.py).

`setup` runs before the session's first assignment is taken, so containers are only ever
created on `dockyard0`. Peer tables are applied in order by one background task, latest
wins, so a burst of node changes costs one pass. Every step is idempotent: an agent
restart re-adopts what it finds and changes only what differs, and running containers
never lose their routes meanwhile.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard.agent.network import bridge, firewall, links
from dockyard.agent.network.plan import (
    BRIDGE_NAME,
    VXLAN_OVERHEAD,
    Mode,
    PeerInfo,
    desired,
    gateway_of,
)
from dockyard.agent.network.policy import Members, MeshPort, Policy

log = logging.getLogger("dockyard.agent.network")


class SetupError(ConnectionError):
    """The network could not be set up; the session retries (one line)."""


@dataclass(frozen=True)
class Assigned:
    """What the control plane gave this node."""

    subnet: str
    cluster_cidr: str
    gateway: str


def check_overlap(subnet: str, cluster_cidr: str, host_nets: Iterable[tuple[str, str]]) -> None:
    """Refuse a cluster CIDR that overlaps a host network other than the agent's own. Pure."""
    cidr = ipaddress.IPv4Network(cluster_cidr)
    for device, net in host_nets:
        if device.startswith("dockyard") or device == "lo":
            continue
        if ipaddress.IPv4Network(net).overlaps(cidr):
            raise SetupError(
                f"the cluster CIDR {cluster_cidr} overlaps this host's network {net} on "
                f"{device}; start the server with another --cluster-cidr"
            )


class NodeNetwork:
    def __init__(self, *, docker_url: str, address: str, mode: Mode = Mode.AUTO) -> None:
        self._docker_url = docker_url
        self._address = address
        self._mode = mode
        self.assigned: Assigned | None = None
        self._peers: list[PeerInfo] | None = None
        self._changed = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._table: tuple[tuple[Members, ...], tuple[MeshPort, ...]] | None = None
        self._applied: Policy | None = None

    async def setup(self, subnet: str, cluster_cidr: str) -> Assigned:
        """Bridge, firewall, VXLAN device for this node's subnet. Raises SetupError."""
        if not subnet:
            raise SetupError("the control plane gave this node no subnet (an older server?)")
        try:
            gateway = await asyncio.to_thread(self._setup, subnet, cluster_cidr)
        except (bridge.BridgeError, firewall.FirewallError, links.NetworkError,
                NetlinkError, OSError) as exc:
            raise SetupError(f"network setup failed: {exc}") from None
        if self.assigned is None or self.assigned.subnet != subnet:
            log.info("node network: subnet %s of %s, gateway %s, mode %s",
                     subnet, cluster_cidr, gateway, self._mode.value)
        self.assigned = Assigned(subnet, cluster_cidr, gateway)
        if self._worker is None:
            self._worker = asyncio.create_task(self._apply_loop())
        self._applied = None
        self._changed.set()  # re-apply the last table against the (re)made devices
        return self.assigned

    def _setup(self, subnet: str, cluster_cidr: str) -> str:
        with IPRoute() as ipr:
            _device, mtu, _nets = links.lan_of(ipr, self._address)
            check_overlap(subnet, cluster_cidr, links.host_networks(ipr))
            if self._mode is not Mode.HOST_GW:
                links.ensure_vxlan(ipr, subnet=subnet, local=self._address, lan_mtu=mtu)
        bridge_mtu = mtu if self._mode is Mode.HOST_GW else mtu - VXLAN_OVERHEAD
        gateway = bridge.ensure_bridge(self._docker_url, subnet, mtu=bridge_mtu)
        firewall.ensure(cluster_cidr)
        return gateway

    def peers_changed(self, peers: Iterable[PeerInfo]) -> None:
        """A new node table from the session; applied in the background."""
        self._peers = sorted(peers)
        self._changed.set()

    def table_changed(self, members: Iterable[Members], mesh: Iterable[MeshPort]) -> None:
        """A new network table (isolation, routing mesh); applied in the background."""
        self._table = (tuple(sorted(members)), tuple(sorted(mesh)))
        self._changed.set()

    def _policy(self, peers: list[PeerInfo], assigned: Assigned) -> Policy | None:
        if self._table is None:
            return None
        gateways = (assigned.gateway, *(gateway_of(p.subnet) for p in peers))
        return Policy(cluster_cidr=assigned.cluster_cidr, gateway=assigned.gateway,
                      subnet=assigned.subnet, node_gateways=tuple(sorted(gateways)),
                      members=self._table[0], mesh=self._table[1])

    async def _apply_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._peers is None or self.assigned is None:
                continue
            try:
                n = await asyncio.to_thread(self._apply, list(self._peers), self.assigned)
                policy = self._policy(list(self._peers), self.assigned)
                if policy is not None and policy != self._applied:
                    await asyncio.to_thread(firewall.apply_policy, policy)
                    self._applied = policy
            except (links.NetworkError, NetlinkError, OSError, firewall.FirewallError) as exc:
                log.warning("network table not applied: %s; retrying", exc)
                await asyncio.sleep(2.0)
                self._changed.set()
                continue
            if n:
                log.info("routes to %d peers applied (%d entries changed)", len(self._peers), n)

    def _apply(self, peers: list[PeerInfo], assigned: Assigned) -> int:
        with IPRoute() as ipr:
            device, _mtu, nets = links.lan_of(ipr, self._address)
            want = desired(peers, local_nets=nets, lan_device=device,
                           source=assigned.gateway, mode=self._mode)
            return links.apply(ipr, want)

    async def close(self) -> None:
        """Stop applying tables; routes and rules stay, so containers keep talking."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)


def teardown(docker_url: str) -> str:
    """Undo what the agent did to this host: routes, FDB, neighbours, the VXLAN device,
    the firewall rules, and `dockyard0` if no container uses it. One line of summary."""
    with IPRoute() as ipr:
        empty = desired([], local_nets=[], lan_device="")
        routes = links.apply(ipr, empty)
        links.remove_vxlan(ipr)
    rules = firewall.remove_all()
    gone = bridge.remove_bridge(docker_url)
    kept = "" if gone else f"; {BRIDGE_NAME} kept (containers still use it)"
    return f"removed {routes} routes and neighbour entries, {rules} firewall rules{kept}"


__all__ = ["Assigned", "Mode", "NodeNetwork", "PeerInfo", "SetupError", "gateway_of", "teardown"]
