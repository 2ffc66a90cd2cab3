"""Service discovery tables: where each service's ready tasks can be reached. Pure.

A task is ready when it runs and, if its service has a healthcheck, passes it. Each
agent gets the table of the apps it runs tasks of, and its DNS answers from it.

`EndpointTables` keeps every app's table current from the changes the mirror reports:
a change to one task looks at that task only, an app's table is rebuilt only when one of
its addresses or services changed, and the table is built once for every session that
sends it (each app's table carries an epoch, which sessions compare).
"""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.controlplane.reconcile.gates import has_healthcheck
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import dispatcher_pb2, objects_pb2


def ready_address(view: ClusterView, task: objects_pb2.Task) -> str:
    """The address `task` answers at if it is ready, else "". Pure."""
    if task.desired_state != objects_pb2.DESIRED_RUNNING:
        return ""
    st = view.statuses.get(task.meta.id)
    if st is None or st.state != objects_pb2.RUNNING or not st.address:
        return ""
    if has_healthcheck(task.spec) and st.health != objects_pb2.HEALTH_HEALTHY:
        return ""
    return st.address


def app_table(view: ClusterView, app: str) -> list[dispatcher_pb2.Endpoint]:
    """One app's table, every service listed (an empty one too), sorted. Pure."""
    addresses: dict[str, list[str]] = {name: [] for name in view.service_names.get(app, ())}
    for t in view.by_app.get(app, {}).values():
        address = ready_address(view, t)
        if address:
            addresses.setdefault(t.service, []).append(address)
    return _endpoints(view, app, addresses)


def _endpoints(view: ClusterView, app: str, addresses: dict[str, list[str]]
               ) -> list[dispatcher_pb2.Endpoint]:
    """Each service's ready addresses, with its network aliases (answered alike)."""
    out = []
    for svc, addrs in sorted(addresses.items()):
        stored = view.services.get(f"{app}/{svc}")
        aliases = sorted(set(stored.spec.aliases)) if stored is not None else []
        out.append(dispatcher_pb2.Endpoint(app=app, service=svc, addresses=sorted(addrs),
                                           aliases=aliases))
    return out


def endpoints_for(view: ClusterView, apps: set[str]) -> list[dispatcher_pb2.Endpoint]:
    """The tables of `apps`, computed from the view's indexes. Pure."""
    return [e for app in sorted(apps) for e in app_table(view, app)]


class EndpointTables:
    """Every app's table, kept current by `update`. Pure bookkeeping, no I/O."""

    def __init__(self) -> None:
        self._ready: dict[str, dict[str, tuple[str, str]]] = {}  # app -> tid -> (svc, addr)
        self._where: dict[str, tuple[str, str, str]] = {}  # tid -> (app, svc, addr)
        self._services: dict[str, frozenset[str]] = {}
        self._tables: dict[str, list[dispatcher_pb2.Endpoint]] = {}
        self.epochs: dict[str, int] = {}
        self._next_epoch = 1
        # Each app's table serialized once, as the `endpoints` of a SessionMessage.
        self._wire: dict[str, bytes] = {}

    def reset(self, view: ClusterView) -> set[str]:
        """Recompute everything (after the mirror loaded a new view); every app changed."""
        self._ready.clear()
        self._where.clear()
        self._services.clear()
        apps = set(view.by_app) | set(view.service_names) | set(self._tables)
        self._tables.clear()
        self._wire.clear()
        for t in view.tasks.values():
            address = ready_address(view, t)
            if address:
                self._ready.setdefault(t.app, {})[t.meta.id] = (t.service, address)
                self._where[t.meta.id] = (t.app, t.service, address)
        self.refresh(view, apps)
        return apps

    def update(self, view: ClusterView, touched: Touched) -> set[str]:
        """Take in one batch of changes; returns the apps whose table changed."""
        return self.refresh(view, self.take(view, touched))

    def take(self, view: ClusterView, touched: Touched) -> set[str]:
        """Take in one batch of changes, task by task, without building any table;
        returns the apps whose table may have changed (`refresh` builds them)."""
        dirty: set[str] = set()
        for tid in touched.tasks:
            task = view.tasks.get(tid)
            before = self._where.get(tid)
            address = ready_address(view, task) if task is not None else ""
            now = (task.app, task.service, address) if task is not None and address else None
            if before == now:
                continue
            if before is not None:
                del self._ready[before[0]][tid]
                del self._where[tid]
                dirty.add(before[0])
            if now is not None:
                self._ready.setdefault(now[0], {})[tid] = (now[1], now[2])
                self._where[tid] = now
                dirty.add(now[0])
        services_changed = "services" in touched.kinds  # their aliases, say
        for app in touched.apps:
            if services_changed or frozenset(view.service_names.get(app, ())) != \
                    self._services.get(app):
                dirty.add(app)
        return dirty

    def table(self, app: str) -> list[dispatcher_pb2.Endpoint]:
        return self._tables.get(app, [])

    def tables(self, apps: Iterable[str]) -> list[dispatcher_pb2.Endpoint]:
        """The tables of `apps`, in the order `endpoints_for` gives."""
        return [e for app in sorted(apps) for e in self._tables.get(app, [])]

    def wire(self, apps: Iterable[str]) -> bytes:
        """`tables(apps)` as the bytes of a SessionMessage that holds only them: appended
        to another serialized SessionMessage, it adds them (protobuf merges repeated
        fields by concatenation), with no copy or serialization per session."""
        return b"".join(self._wire.get(app, b"") for app in sorted(apps))

    def refresh(self, view: ClusterView, apps: set[str]) -> set[str]:
        """Build the tables of `apps`; returns those that changed (their epoch moved)."""
        changed: set[str] = set()
        for app in apps:
            names = frozenset(view.service_names.get(app, ()))
            addresses: dict[str, list[str]] = {name: [] for name in names}
            for svc, address in self._ready.get(app, {}).values():
                addresses.setdefault(svc, []).append(address)
            table = _endpoints(view, app, addresses)
            self._services[app] = names
            if not table:
                self._ready.pop(app, None)
                self._services.pop(app, None)
            if table != self._tables.get(app, []):
                if table:
                    self._tables[app] = table
                    self._wire[app] = dispatcher_pb2.SessionMessage(
                        endpoints=table).SerializeToString()
                else:
                    self._tables.pop(app, None)
                    self._wire.pop(app, None)
                self.epochs[app] = self._next_epoch
                self._next_epoch += 1
                changed.add(app)
        return changed
