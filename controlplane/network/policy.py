"""The cluster's network table: who may reach whom, and the routing mesh's ports. Pure.

Every agent enforces isolation for its own host, but a packet's two ends can be on any
two hosts, so each agent gets the whole cluster's table: the task addresses of every
app network (Compose `networks:`; "default" when a service names none), and every port
published in ingress mode with the addresses of its ready tasks. `NetworkTables` keeps
it current from the batches the mirror reports: a change to one task looks at that task
only, the table is rebuilt only when a row or a service changed, and it carries an epoch
that sessions compare (controlplane/api/fanout.py sends it, built once for all).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.common.spec.ports import DETACHED_NETWORK_MODES, mesh_ports
from dockyard.controlplane.endpoints import ready_address
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import dispatcher_pb2, objects_pb2, specs_pb2

DEFAULT_NETWORK = "default"
LIVE = (objects_pb2.READY, objects_pb2.STARTING, objects_pb2.RUNNING)


@dataclass(frozen=True)
class Row:
    """What one task adds to the table."""

    app: str
    service: str
    networks: tuple[str, ...]
    member: str  # its address while its container lives, else ""
    ready: str  # its address while it is ready, else ""


def networks_of(spec: specs_pb2.ServiceSpec) -> list[str]:
    """The app networks a service's tasks join: none off the app network. Pure."""
    if spec.network_mode in DETACHED_NETWORK_MODES:
        return []
    return sorted(set(spec.networks)) or [DEFAULT_NETWORK]


def row_of(view: ClusterView, t: objects_pb2.Task) -> Row | None:
    """The task's row, or None when it adds nothing. Pure."""
    if t.desired_state != objects_pb2.DESIRED_RUNNING:
        return None
    st = view.statuses.get(t.meta.id)
    if st is None or not st.address or st.state not in LIVE:
        return None  # an ended container's address may already be another's
    return Row(t.app, t.service, tuple(networks_of(t.spec)), st.address,
               ready_address(view, t))


def build(rows: Iterable[Row], services: Iterable[objects_pb2.Service]
          ) -> dispatcher_pb2.NetworkTable:
    """The table from the tasks' rows and the services. Pure."""
    members: dict[tuple[str, str], set[str]] = {}
    backends: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for net in r.networks:
            members.setdefault((r.app, net), set()).add(r.member)
        if r.ready:
            backends.setdefault((r.app, r.service), []).append(r.ready)
    table = dispatcher_pb2.NetworkTable(members=[
        dispatcher_pb2.NetworkMembers(app=app, network=net, addresses=sorted(addrs))
        for (app, net), addrs in sorted(members.items())
    ])
    for svc in sorted(services, key=lambda s: (s.app, s.spec.name)):
        for p in mesh_ports(svc.spec):
            table.ingress.append(dispatcher_pb2.IngressPort(
                app=svc.app, service=svc.spec.name, port=p.host_port,
                protocol=p.protocol or "tcp", target_port=p.container_port,
                host_ip=p.host_ip, backends=sorted(backends.get((svc.app, svc.spec.name), [])),
            ))
    return table


def network_table(view: ClusterView) -> dispatcher_pb2.NetworkTable:
    """Members of every app network (tasks whose container exists and has not ended)
    and every ingress port's ready tasks. Pure."""
    rows = [r for t in view.tasks.values() if (r := row_of(view, t)) is not None]
    return build(rows, view.services.values())


class NetworkTables:
    """The table, kept current by `update`; `epoch` moves when its content does. Pure
    bookkeeping, no I/O."""

    def __init__(self) -> None:
        self.table = dispatcher_pb2.NetworkTable()
        self.epoch = 0
        self._rows: dict[str, Row] = {}

    def reset(self, view: ClusterView) -> bool:
        """Recompute from the whole view; True when the table changed."""
        self._rows = {t.meta.id: r for t in view.tasks.values()
                      if (r := row_of(view, t)) is not None}
        return self.rebuild(view)

    def update(self, view: ClusterView, touched: Touched) -> bool:
        """Take in one batch of changes; True when the table changed."""
        return self.rebuild(view) if self.take(view, touched) else False

    def take(self, view: ClusterView, touched: Touched) -> bool:
        """Take in one batch of changes, row by row, without building the table; True
        when a row or a service changed (`rebuild` then makes the table)."""
        dirty = "services" in touched.kinds
        for tid in touched.tasks:
            task = view.tasks.get(tid)
            row = row_of(view, task) if task is not None else None
            if self._rows.get(tid) == row:
                continue
            dirty = True
            if row is None:
                del self._rows[tid]
            else:
                self._rows[tid] = row
        return dirty

    def rebuild(self, view: ClusterView) -> bool:
        """The table from the rows; True when it changed (and its epoch moved)."""
        table = build(self._rows.values(), view.services.values())
        if table == self.table:
            return False
        self.table = table
        self.epoch += 1
        return True
