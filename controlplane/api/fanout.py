"""Fan-out: which sessions a change concerns, and what they share.

A thousand sessions cannot each look at the whole cluster after every change. The
mirror reports what each batch of changes touched (`view.Touched`); from that, this
module wakes only the sessions of the nodes concerned:

- a node whose tasks changed (its assignments);
- the nodes running an app whose app object changed (its secrets and configs), or whose
  service-discovery table changed: addresses are taken in task by task, and the tables
  of the apps that changed are built at most once per `TABLES_EVERY_S`;
- every node when the node table (peers) changed: the table is kept row by row (one
  node's change costs one row) and published, with one wake of everyone, at most once
  per `PEERS_EVERY_S`, however many nodes join meanwhile; a session sends its node the
  whole table once, then only the rows that changed (common/peertable.py);
- every node when the cluster's network table changed (controlplane/network/policy.py:
  isolation and the routing mesh, which every node enforces for the whole cluster),
  built and sent at most once per `TABLES_EVERY_S`.

A change that has waited for its interval goes out with everything that came after it;
the first change after a quiet interval goes out at once.

What several sessions send is computed once, here, and shared: each app's endpoint
table (`EndpointTables`, with an epoch per app), the node table and its changes, and the
network table's message. A session's own
work after a wake is proportional to its node's tasks.

Waking is a flag per session (an `asyncio.Event`), never a queue: however many changes
arrive while a session is busy, it wakes once and sends the latest state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from dockyard.common.peertable import PeerLog
from dockyard.controlplane.endpoints import EndpointTables
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.network.policy import NetworkTables
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import dispatcher_pb2, objects_pb2

PEERS_EVERY_S = 1.0
# The network table and the endpoint tables change with every container that starts or
# ends: while thousands start, they go out every half second, not once per status batch.
TABLES_EVERY_S = 0.5
# ... and less often when a table is big and goes to many nodes: every node parses what
# it gets, so the addresses sent in all are held near ROWS_PER_S a second.
ROWS_PER_S = 4_000_000
TABLES_MAX_S = 5.0
Later = Callable[[float, Callable[[], None]], object]  # loop.call_later's shape


class Pacer:
    """Runs `publish` at most once per `every_s`: at once when the last run is that long
    ago, else once when the interval ends, however many changes came meanwhile."""

    def __init__(self, every_s: float, publish: Callable[[], None], *,
                 clock: Callable[[], float], call_later: Later) -> None:
        self.every_s = every_s  # the owner may lengthen it after a costly run
        self._publish = publish
        self._clock = clock
        self._later = call_later
        self._at = -every_s
        self._stale = False
        self._due = False  # a run is set for the end of the interval

    def soon(self) -> None:
        self._stale = True
        if self._due:
            return
        wait = self._at + self.every_s - self._clock()
        if wait <= 0:
            self.now()
        else:
            self._due = True
            self._later(wait, self._end)

    def now(self) -> None:
        self._at = self._clock()
        self._stale = False
        self._publish()

    def _end(self) -> None:
        self._due = False
        if self._stale:
            self.now()


class Fanout:
    """Shared tables, kept current from the mirror, and whom each change wakes."""

    def __init__(self, mirror: Mirror, *, wake_nodes: Callable[[Iterable[str]], None],
                 wake_all: Callable[[], None], clock: Callable[[], float] | None = None,
                 call_later: Later | None = None) -> None:
        self._mirror = mirror
        self._wake_nodes = wake_nodes
        self._wake_all = wake_all
        clock = clock or time.monotonic
        later = call_later or _call_later
        # Each app's endpoint table: addresses kept task by task, the tables of the apps
        # that changed built at most once per TABLES_EVERY_S.
        self.endpoints = EndpointTables()
        self._endpoints_dirty: set[str] = set()
        self._endpoints = Pacer(TABLES_EVERY_S, self._publish_endpoints, clock=clock,
                                call_later=later)
        # The node table: each node's row (address, subnet), kept node by node, and its
        # changes (common/peertable.py); published at most once per PEERS_EVERY_S.
        self._peer_log = PeerLog()
        self._peers = Pacer(PEERS_EVERY_S, self._publish_peers, clock=clock, call_later=later)
        # The cluster's network table (isolation, routing mesh): rows kept task by task,
        # one message for all, built at most once per TABLES_EVERY_S.
        self.network_tables = NetworkTables()
        self.network = dispatcher_pb2.SessionMessage(has_network=True)
        self.network_wire = self.network.SerializeToString()
        self._network_wire_epoch = 0  # the table epoch `network_wire` holds
        self._network = Pacer(TABLES_EVERY_S, self._publish_network, clock=clock,
                              call_later=later)
        mirror.subscribe_touched(self.changed)

    @property
    def peers_epoch(self) -> int:
        """The epoch of the last published node table."""
        return self._peer_log.epoch

    @property
    def peers(self) -> dispatcher_pb2.SessionMessage:
        """The whole node table as one message (every node's row, the receiver's too)."""
        return self._peer_log.table()

    def peers_since(self, epoch: int) -> bytes:
        """What a session that sent the node table of `epoch` (-1: none yet) sends now:
        the rows changed since, or the whole table; serialized once for all sessions."""
        return self._peer_log.since(epoch)

    @property
    def network_epoch(self) -> int:
        """The epoch of the table in `network_wire` (the table itself may be newer until
        it is published)."""
        return self._network_wire_epoch

    def changed(self, touched: Touched, reloaded: bool) -> None:
        view = self._mirror.view
        if reloaded:
            self.endpoints.reset(view)
            self._peer_log.reset({name: row for name, n in view.nodes.items()
                                  if (row := _peer_row(n)) is not None})
            self._peers.now()
            self.network_tables.reset(view)
            self._network.now()
            return
        if self.network_tables.take(view, touched):
            self._network.soon()  # every node enforces the whole table
        dirty = self.endpoints.take(view, touched)
        if dirty:
            self._endpoints_dirty |= dirty
            self._endpoints.soon()
        if "nodes" in touched.kinds and self._update_peer_rows(view, touched.node_objects):
            self._peers.soon()
        nodes = set(touched.nodes)
        for app in touched.app_objects:
            nodes |= nodes_running(view, app)
        if nodes:
            self._wake_nodes(nodes)

    def _publish_endpoints(self) -> None:
        """Build the tables of the apps that changed; wake the nodes running them."""
        view = self._mirror.view
        apps, self._endpoints_dirty = self._endpoints_dirty, set()
        nodes: set[str] = set()
        rows = 0
        for app in self.endpoints.refresh(view, apps):
            running = nodes_running(view, app)
            nodes |= running
            rows += len(running) * sum(len(e.addresses) for e in self.endpoints.table(app))
        self._endpoints.every_s = interval_for(rows)
        if nodes:
            self._wake_nodes(nodes)

    def _update_peer_rows(self, view: ClusterView, names: Iterable[str]) -> bool:
        """Take in the nodes that changed, row by row; True when a row changed (not
        only a node's state or heartbeat)."""
        changed = False
        for name in names:
            node = view.nodes.get(name)
            changed |= self._peer_log.take(name, _peer_row(node) if node is not None else None)
        return changed

    def _publish_peers(self) -> None:
        """A new epoch of the node table; every session hears of it and sends its node
        the rows changed since the epoch it sent (or the whole table)."""
        self._peer_log.publish()
        self._wake_all()

    def _publish_network(self) -> None:
        """Build the table from its rows; when it is newer than the message sessions
        send (after a rebuild here, or a reset after a reload), make the message anew."""
        self.network_tables.rebuild(self._mirror.view)
        if self.network_tables.epoch != self._network_wire_epoch:
            self._network_wire_epoch = self.network_tables.epoch
            self.network = dispatcher_pb2.SessionMessage(has_network=True,
                                                         network=self.network_tables.table)
            self.network_wire = self.network.SerializeToString()
            table = self.network_tables.table
            rows = sum(len(m.addresses) for m in table.members) + sum(
                len(p.backends) for p in table.ingress)
            self._network.every_s = interval_for(rows * len(self._mirror.view.nodes))
            self._wake_all()


def interval_for(rows: int) -> float:
    """How long a shared table waits before it goes out again, after a run that sent
    `rows` addresses in all (its rows times the sessions it went to): TABLES_EVERY_S,
    longer when that is more than ROWS_PER_S a second (an app of ten thousand replicas
    on a thousand nodes), at most TABLES_MAX_S. Pure."""
    return min(TABLES_MAX_S, max(TABLES_EVERY_S, rows / ROWS_PER_S))


def _peer_row(node: objects_pb2.Node) -> tuple[str, str] | None:
    """A node's row in the peers table, or None while it has no route yet. Pure."""
    if node.subnet and node.description.address:
        return node.description.address, node.subnet
    return None


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, callback)


def nodes_running(view: ClusterView, app: str) -> set[str]:
    """The nodes `app` has tasks on, from the view's index. Pure."""
    return {t.node for t in view.by_app.get(app, {}).values() if t.node}
