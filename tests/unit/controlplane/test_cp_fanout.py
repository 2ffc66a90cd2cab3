"""The fan-out's indexes and deltas against a plain rescan of the whole view.

Random batches of changes (tasks created, moved, deleted; statuses; services; apps;
nodes) go through `ClusterView.apply` as the mirror feeds them. After every batch:
the indexes equal a rescan, the shared endpoint tables equal the tables computed from
scratch, and every session the fan-out did not wake has nothing to send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.controlplane.api.assignments import SentState, next_message
from dockyard.controlplane.api.fanout import TABLES_EVERY_S, TABLES_MAX_S, Fanout, interval_for
from dockyard.controlplane.endpoints import EndpointTables
from dockyard.controlplane.reconcile.gates import has_healthcheck
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import dispatcher_pb2, objects_pb2, specs_pb2

APPS = ["a", "b", "c"]
NODES = ["n1", "n2", "n3", "n4"]
SERVICES = ["web", "db"]
TIDS = [f"t{i}" for i in range(8)]


def scan_endpoints(view: ClusterView, apps: set[str]) -> list[dispatcher_pb2.Endpoint]:
    """The tables as computed before the indexes: a scan of every service and task."""
    addresses: dict[tuple[str, str], list[str]] = defaultdict(list)
    for svc in view.services.values():
        if svc.app in apps:
            addresses[(svc.app, svc.spec.name)]
    for t in view.tasks.values():
        if t.app not in apps or t.desired_state != objects_pb2.DESIRED_RUNNING:
            continue
        s = view.status_of(t.meta.id)
        if s.state != objects_pb2.RUNNING or not s.address:
            continue
        if has_healthcheck(t.spec) and s.health != objects_pb2.HEALTH_HEALTHY:
            continue
        addresses[(t.app, t.service)].append(s.address)
    return [dispatcher_pb2.Endpoint(app=a, service=s, addresses=sorted(v))
            for (a, s), v in sorted(addresses.items())]


def task_value(tid: str, app: str, node: str, running: bool, check: bool,
               version: int) -> bytes:
    spec = specs_pb2.ServiceSpec(name=SERVICES[int(tid[1:]) % 2])
    if check:
        spec.healthcheck.test.extend(["CMD", "true"])
    t = objects_pb2.Task(app=app, service=spec.name, node=node, spec=spec, slot=version,
                         desired_state=objects_pb2.DESIRED_RUNNING if running
                         else objects_pb2.DESIRED_REMOVE)
    t.meta.id = tid
    return encode(t)


def status_value(state: int, address: str, healthy: bool) -> bytes:
    return encode(objects_pb2.TaskStatus(
        state=state, address=address,
        health=objects_pb2.HEALTH_HEALTHY if healthy else objects_pb2.HEALTH_STARTING))


def node_value(name: str, address: str) -> bytes:
    n = objects_pb2.Node(subnet=f"10.0.{NODES.index(name)}.0/24")
    n.meta.id = name
    n.description.address = address
    return encode(n)


def service_value(app: str, name: str) -> bytes:
    s = objects_pb2.Service(app=app, spec=specs_pb2.ServiceSpec(name=name))
    s.meta.id = f"{app}/{name}"
    return encode(s)


def app_value(name: str, secret: bytes) -> bytes:
    a = objects_pb2.App(spec=specs_pb2.AppSpec(name=name))
    a.spec.secrets.add(name="s", data=secret)
    a.meta.id = name
    return encode(a)


# One change: (key, value or None). The app of a task id is fixed (as in etcd, where
# the key holds it), so a task id always lives in one app.
def _app_of(tid: str) -> str:
    return APPS[int(tid[1:]) % len(APPS)]


change = st.one_of(
    st.builds(lambda tid, node, run, chk, v: (keys.task_key(_app_of(tid), tid),
                                             task_value(tid, _app_of(tid), node, run, chk, v)),
              st.sampled_from(TIDS), st.sampled_from(["", *NODES]), st.booleans(),
              st.booleans(), st.integers(0, 3)),
    st.builds(lambda tid: (keys.task_key(_app_of(tid), tid), None), st.sampled_from(TIDS)),
    st.builds(lambda tid, state, addr, ok: (keys.status_key(_app_of(tid), tid),
                                            status_value(state, addr, ok)),
              st.sampled_from(TIDS), st.sampled_from([objects_pb2.RUNNING,
                                                      objects_pb2.STARTING]),
              st.sampled_from(["", "10.0.0.2", "10.0.0.3"]), st.booleans()),
    st.builds(lambda tid: (keys.status_key(_app_of(tid), tid), None), st.sampled_from(TIDS)),
    st.builds(lambda a, s, keep: (keys.service_key(a, s), service_value(a, s) if keep else None),
              st.sampled_from(APPS), st.sampled_from(SERVICES), st.booleans()),
    st.builds(lambda a, data: (keys.app_key(a), app_value(a, data)),
              st.sampled_from(APPS), st.sampled_from([b"x", b"y"])),
    st.builds(lambda n, addr: (keys.node_key(n), node_value(n, addr)),
              st.sampled_from(NODES), st.sampled_from(["192.0.2.10", "192.0.2.11"])),
)


class _Mirror:
    """What Fanout reads of a mirror: its view, and whom to tell about changes."""

    def __init__(self, view: ClusterView) -> None:
        self.view = view
        self.listeners: list[Callable[[Touched, bool], None]] = []

    def subscribe_touched(self, listener: Callable[[Touched, bool], None]) -> None:
        self.listeners.append(listener)


def _check_indexes(view: ClusterView) -> None:
    rescan = ClusterView(tasks=dict(view.tasks), services=dict(view.services))
    assert {n: set(ts) for n, ts in view.by_node.items()} == {
        n: set(ts) for n, ts in rescan.by_node.items()}
    assert {a: set(ts) for a, ts in view.by_app.items()} == {
        a: set(ts) for a, ts in rescan.by_app.items()}
    assert view.service_names == rescan.service_names
    for node in NODES:
        assert {t.meta.id for t in view.tasks_on(node)} == {
            t.meta.id for t in view.tasks.values() if t.node == node}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(change, min_size=1, max_size=6), min_size=1, max_size=12))
def test_indexes_tables_and_wakes_match_a_full_rescan(batches: list[list[Any]]) -> None:
    view = ClusterView()
    mirror = _Mirror(view)
    woken: set[str] = set()
    everyone = [False]

    def wake_all() -> None:
        everyone[0] = True

    due: list[Callable[[], None]] = []  # the tables paced to go out later: at once here
    fan = Fanout(mirror, wake_nodes=woken.update, wake_all=wake_all,  # type: ignore[arg-type]
                 call_later=lambda delay, publish: due.append(publish))
    fan.changed(Touched(), True)
    sent = {n: SentState() for n in NODES}
    for n in NODES:
        next_message(view, n, sent[n], fan.endpoints, [])  # the complete set, first
    rev = 0
    for batch in batches:
        touched = Touched()
        for key, value in batch:
            rev += 1
            view.apply(key, value, rev, touched)
        woken.clear()
        everyone[0] = False
        fan.changed(touched, False)
        while due:
            due.pop()()
        _check_indexes(view)
        apps = set(view.by_app) | set(view.service_names)
        assert fan.endpoints.tables(apps) == scan_endpoints(view, apps)
        for n in NODES:
            msg = next_message(view, n, sent[n], fan.endpoints, [])
            if not everyone[0] and n not in woken:
                assert msg is None, f"node {n} was not woken but had {msg}"
            if msg is not None:
                # What it sends is what a full rescan gives for its apps.
                mine = {t.app for t in view.tasks.values() if t.node == n}
                if msg.has_endpoints:
                    assert list(msg.endpoints) == scan_endpoints(view, mine)


def _apply_all(view: ClusterView, changes: Iterable[tuple[str, bytes | None]]) -> Touched:
    touched = Touched()
    for rev, (key, value) in enumerate(changes, start=view.revision + 1):
        view.apply(key, value, rev, touched)
    return touched


def test_a_status_change_of_one_app_wakes_only_the_nodes_running_it() -> None:
    view = ClusterView()
    mirror = _Mirror(view)
    woken: set[str] = set()
    fan = Fanout(mirror, wake_nodes=woken.update, wake_all=lambda: None,  # type: ignore[arg-type]
                 call_later=lambda delay, publish: None)
    _apply_all(view, [(keys.task_key("a", "t0"), task_value("t0", "a", "n1", True, False, 0)),
                      (keys.task_key("b", "t1"), task_value("t1", "b", "n2", True, False, 0))])
    fan.changed(Touched(), True)
    touched = _apply_all(view, [(keys.status_key("a", "t0"),
                                 status_value(objects_pb2.RUNNING, "10.0.0.2", True))])
    fan.changed(touched, False)
    assert woken == {"n1"}
    woken.clear()
    # A status that changes no address (still starting) wakes nobody.
    touched = _apply_all(view, [(keys.status_key("b", "t1"),
                                 status_value(objects_pb2.STARTING, "", True))])
    fan.changed(touched, False)
    assert woken == set()


def test_the_peers_table_is_one_message_for_everyone_and_lists_every_node() -> None:
    view = ClusterView()
    mirror = _Mirror(view)
    fan = Fanout(mirror, wake_nodes=lambda nodes: None, wake_all=lambda: None)
    _apply_all(view, [(keys.node_key(n), node_value(n, "192.0.2.10")) for n in NODES])
    fan.changed(Touched(), True)
    first = fan.peers
    assert [p.name for p in first.peers] == NODES and fan.peers_epoch == 1
    # A node's state flapping changes no route: the same message, the same epoch.
    touched = _apply_all(view, [(keys.alive_key("n1"), None)])
    fan.changed(touched, False)
    assert fan.peers is first and fan.peers_epoch == 1


@dataclass
class _Clock:
    """A clock the test moves by hand, the timers set on it, and the wakes of everyone."""

    now: list[float] = field(default_factory=lambda: [100.0])
    timers: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    wakes: list[int] = field(default_factory=lambda: [0])


def _paced(view: ClusterView) -> tuple[Fanout, _Clock]:
    """A fan-out on a hand-moved clock, its timers kept for the test to fire."""
    c = _Clock()

    def wake_all() -> None:
        c.wakes[0] += 1

    fan = Fanout(_Mirror(view), wake_nodes=lambda nodes: None,  # type: ignore[arg-type]
                 wake_all=wake_all, clock=lambda: c.now[0],
                 call_later=lambda delay, cb: c.timers.append((c.now[0] + delay, cb)))
    return fan, c


def test_the_peers_table_goes_out_at_most_once_a_second_with_every_join_in_it() -> None:
    view = ClusterView()
    fan, clock = _paced(view)
    now, timers, wakes = clock.now, clock.timers, clock.wakes
    _apply_all(view, [(keys.node_key(n), node_value(n, "192.0.2.10")) for n in NODES[:2]])
    fan.changed(Touched(), True)
    assert [p.name for p in fan.peers.peers] == NODES[:2] and fan.peers_epoch == 1
    wakes[0] = 0
    # Two nodes join within the second: nobody is woken for either, one timer is set.
    for n, at in ((NODES[2], 100.1), (NODES[3], 100.5)):
        now[0] = at
        fan.changed(_apply_all(view, [(keys.node_key(n), node_value(n, "192.0.2.11"))]),
                    False)
    assert fan.peers_epoch == 1 and wakes[0] == 0 and len(timers) == 1
    due, publish = timers.pop()
    assert due == 101.0
    now[0] = due
    publish()
    assert [p.name for p in fan.peers.peers] == NODES and fan.peers_epoch == 2
    assert wakes[0] == 1
    # A second later, a changed address goes out at once.
    now[0] = 102.5
    fan.changed(_apply_all(view, [(keys.node_key("n1"), node_value("n1", "192.0.2.99"))]),
                False)
    assert fan.peers_epoch == 3 and wakes[0] == 2 and not timers
    assert fan.peers.peers[0].address == "192.0.2.99"


def test_the_network_table_goes_out_at_most_twice_a_second_with_every_start_in_it() -> None:
    view = ClusterView()
    fan, clock = _paced(view)
    now, timers, wakes = clock.now, clock.timers, clock.wakes
    fan.changed(Touched(), True)
    wakes[0] = 0

    def start(tid: str, address: str) -> None:
        fan.changed(_apply_all(view, [
            (keys.task_key(_app_of(tid), tid),
             task_value(tid, _app_of(tid), "n1", True, False, 0)),
            (keys.status_key(_app_of(tid), tid),
             status_value(objects_pb2.RUNNING, address, True))]), False)

    now[0] = 101.0
    start("t0", "10.0.0.2")  # the first change in a while goes out at once
    assert wakes[0] == 1 and not timers
    assert [list(m.addresses) for m in fan.network.network.members] == [["10.0.0.2"]]
    now[0] = 101.2
    start("t3", "10.0.0.3")  # the same app, within the interval: later, with the next
    now[0] = 101.3
    start("t6", "10.0.0.4")
    assert wakes[0] == 1 and len(timers) == 2  # the network table's, the endpoints'
    assert {due for due, _ in timers} == {101.5}
    now[0] = 101.5
    for _, publish in timers:
        publish()
    assert wakes[0] == 2
    assert [list(m.addresses) for m in fan.network.network.members] == [
        ["10.0.0.2", "10.0.0.3", "10.0.0.4"]]


def test_endpoint_tables_forget_a_deleted_task() -> None:
    view = ClusterView()
    tables = EndpointTables()
    _apply_all(view, [(keys.service_key("a", "web"), service_value("a", "web")),
                      (keys.task_key("a", "t0"), task_value("t0", "a", "n1", True, False, 0)),
                      (keys.status_key("a", "t0"),
                       status_value(objects_pb2.RUNNING, "10.0.0.2", True))])
    tables.reset(view)
    assert [list(e.addresses) for e in tables.table("a")] == [["10.0.0.2"]]
    touched = _apply_all(view, [(keys.task_key("a", "t0"), None)])
    assert tables.update(view, touched) == {"a"}
    assert [list(e.addresses) for e in tables.table("a")] == [[]]


def test_a_message_with_its_tables_appended_as_bytes_reads_as_the_message_with_them() -> None:
    """Sessions send the shared endpoint tables as bytes serialized once: the message
    the agent parses is the one built with the tables in it."""
    view = ClusterView()
    tables = EndpointTables()
    changes: list[tuple[str, bytes | None]] = []
    for i, app in enumerate(["b", "a", "c"]):
        tid = f"t{i}"
        changes += [(keys.service_key(app, "web"), service_value(app, "web")),
                    (keys.task_key(app, tid), task_value(tid, app, "n1", True, False, 0)),
                    (keys.status_key(app, tid),
                     status_value(objects_pb2.RUNNING, f"10.0.0.{i + 2}", True))]
    _apply_all(view, changes)
    tables.reset(view)
    built = next_message(view, "n1", SentState(), tables, [])
    sent = SentState()
    lean = next_message(view, "n1", sent, tables, [], tables=False)
    assert built is not None and lean is not None and lean.has_endpoints
    assert not lean.endpoints
    assert set(sent.endpoints or {}) == {"a", "b", "c"}
    wire = lean.SerializeToString() + tables.wire(sent.endpoints or {})
    assert dispatcher_pb2.SessionMessage.FromString(wire) == built
    order = [e.app for e in built.endpoints]
    assert order == sorted(order) and set(order) == {"a", "b", "c"}


def test_a_big_table_sent_to_many_nodes_goes_out_less_often() -> None:
    assert interval_for(0) == TABLES_EVERY_S
    assert interval_for(1_000 * 100) == TABLES_EVERY_S  # 1,000 replicas on 100 nodes
    assert interval_for(10_000 * 1_000) == 2.5  # 10,000 replicas on 1,000 nodes
    assert interval_for(10**12) == TABLES_MAX_S


def test_after_a_reload_sessions_are_sent_the_whole_network_table() -> None:
    """A replica that (re)loads a cluster with running tasks (a restart, a lost watch)
    sends every session the table of those tasks, not the empty one it started with."""
    view = ClusterView()
    _apply_all(view, [
        (keys.task_key(_app_of("t0"), "t0"), task_value("t0", _app_of("t0"), "n1", True, False, 0)),
        (keys.status_key(_app_of("t0"), "t0"), status_value(objects_pb2.RUNNING, "10.0.0.2", True)),
    ])
    fan, clock = _paced(view)
    before = fan.network_epoch
    fan.changed(Touched(), True)
    assert fan.network_epoch != before
    assert [list(m.addresses) for m in fan.network.network.members] == [["10.0.0.2"]]
    sent = dispatcher_pb2.SessionMessage.FromString(fan.network_wire)
    assert [list(m.addresses) for m in sent.network.members] == [["10.0.0.2"]]
    assert clock.wakes[0] >= 1
