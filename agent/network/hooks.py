"""The node network's side of the agent's session: what to do on each registration (set
up the network, serve DNS on its gateway, point the runner at it) and on each node table.

Kept apart from agent/session.py so the session only calls two hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dockyard.agent.dns import ServiceDNS, Upstream, serve_dns
from dockyard.agent.network.manager import NodeNetwork
from dockyard.agent.network.plan import BRIDGE_NAME, Mode, PeerInfo
from dockyard.agent.network.policy import Members, MeshPort
from dockyard.agent.runner import Runner
from dockyard.v1 import dispatcher_pb2

log = logging.getLogger("dockyard.agent.network")


class NetworkHooks:
    def __init__(
        self,
        *,
        runner: Runner,
        docker_url: str,
        address: str,
        mode: Mode,
        upstreams: Sequence[Upstream],
        dns: bool = True,
    ) -> None:
        self._runner = runner
        self.network = NodeNetwork(docker_url=docker_url, address=address, mode=mode)
        self._upstreams = list(upstreams)
        self._want_dns = dns
        self.dns: ServiceDNS | None = None
        self._dns_at = ""

    async def on_register(self, reg: dispatcher_pb2.RegisterResponse) -> None:
        assigned = await self.network.setup(reg.subnet, reg.cluster_cidr)
        if self._want_dns and self._dns_at != assigned.gateway:
            if self.dns is not None:
                self.dns.close()
            self.dns = await serve_dns(assigned.gateway, upstreams=self._upstreams)
            self._dns_at = assigned.gateway if self.dns is not None else ""
        self._runner.use_network(BRIDGE_NAME, dns=self.dns, resolver=assigned.gateway)

    def on_peers(self, peers: Sequence[dispatcher_pb2.Peer]) -> None:
        self.network.peers_changed(PeerInfo(p.name, p.address, p.subnet) for p in peers)

    def on_network(self, table: dispatcher_pb2.NetworkTable) -> None:
        self.network.table_changed(
            (Members(m.app, m.network, tuple(m.addresses)) for m in table.members),
            (MeshPort(p.port, p.protocol or "tcp", p.target_port, tuple(p.backends), p.host_ip)
             for p in table.ingress),
        )

    async def close(self) -> None:
        await self.network.close()
        if self.dns is not None:
            self.dns.close()
