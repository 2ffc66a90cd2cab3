"""Fan-out: which sessions a change concerns, and what they share.

A thousand sessions cannot each look at the whole cluster after every change. The
mirror reports what each batch of changes touched (`view.Touched`); from that, this
module wakes only the sessions of the nodes concerned:

- a node whose tasks changed (its assignments);
- the nodes running an app whose service-discovery table changed, or whose app object
  changed (its secrets and configs);
- every node when the node table (peers) changed, which each session sends at most once
  per `PEERS_EVERY_S`;
- every node when the cluster's network table changed (controlplane/network/policy.py:
  isolation and the routing mesh, which every node enforces for the whole cluster).

What several sessions send is computed once, here, and shared: each app's endpoint
table (`EndpointTables`, with an epoch per app), the peers message and the network
table's message. A session's own
work after a wake is proportional to its node's tasks.

Waking is a flag per session (an `asyncio.Event`), never a queue: however many changes
arrive while a session is busy, it wakes once and sends the latest state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dockyard.controlplane.endpoints import EndpointTables
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.network.policy import NetworkTables
from dockyard.controlplane.network.table import peers_for
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import dispatcher_pb2

PEERS_EVERY_S = 1.0


class Fanout:
    """Shared tables, kept current from the mirror, and whom each change wakes."""

    def __init__(self, mirror: Mirror, *, wake_nodes: Callable[[Iterable[str]], None],
                 wake_all: Callable[[], None]) -> None:
        self._mirror = mirror
        self._wake_nodes = wake_nodes
        self._wake_all = wake_all
        self.endpoints = EndpointTables()
        self.peers = dispatcher_pb2.SessionMessage(has_peers=True)
        self.peers_epoch = 0
        self._peer_rows: list[tuple[str, str, str]] = []
        # The cluster's network table (isolation, routing mesh): one message for all.
        self.network_tables = NetworkTables()
        self.network = dispatcher_pb2.SessionMessage(has_network=True)
        mirror.subscribe_touched(self.changed)

    @property
    def network_epoch(self) -> int:
        return self.network_tables.epoch

    def _network_changed(self, changed: bool) -> bool:
        if changed:
            self.network = dispatcher_pb2.SessionMessage(has_network=True,
                                                         network=self.network_tables.table)
        return changed

    def changed(self, touched: Touched, reloaded: bool) -> None:
        view = self._mirror.view
        if reloaded:
            self.endpoints.reset(view)
            self._refresh_peers(view)
            self._network_changed(self.network_tables.reset(view))
            self._wake_all()
            return
        if self._network_changed(self.network_tables.update(view, touched)):
            self._wake_all()  # every node enforces the whole table
        changed_apps = self.endpoints.update(view, touched)
        if touched.node_objects and "nodes" in touched.kinds and self._refresh_peers(view):
            self._wake_all()
            return
        nodes = set(touched.nodes)
        for app in changed_apps | touched.app_objects:
            nodes |= nodes_running(view, app)
        if nodes:
            self._wake_nodes(nodes)

    def _refresh_peers(self, view: ClusterView) -> bool:
        """Rebuild the shared peers message if the table changed; True when it did."""
        rows = sorted((n.meta.id, n.description.address, n.subnet)
                      for n in view.nodes.values() if n.subnet and n.description.address)
        if rows == self._peer_rows:
            return False
        self._peer_rows = rows
        # Every node's row, its own included: the agent skips its own.
        self.peers = dispatcher_pb2.SessionMessage(has_peers=True,
                                                   peers=peers_for(view.nodes.values(), ""))
        self.peers_epoch += 1
        return True


def nodes_running(view: ClusterView, app: str) -> set[str]:
    """The nodes `app` has tasks on, from the view's index. Pure."""
    return {t.node for t in view.by_app.get(app, {}).values() if t.node}
