"""Unreachable marks and the leader's wake-up (controlplane/leader.py; reconcile/quiet.py
`wakes_leader`; view.py).

A replica marks the nodes whose session stream closed (/dockyard/unreachable/<node>),
a batch at a time, and during a failover such batches come every few tens of
milliseconds. A mark only keeps new tasks off its node: whatever would place new tasks
is news of its own, so a batch of marks alone wakes no round (each such round used to
copy the whole view to plan nothing). A node that loses a mark that counted may take the
tasks waiting for room: that still wakes the leader, for those tasks' apps.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.leader import Leader
from dockyard.controlplane.reconcile.quiet import wakes_leader
from dockyard.controlplane.store import keys
from dockyard.controlplane.view import ClusterView, Touched
from tests.unit.controlplane.builders import app, node, service, spec, task
from tests.unit.controlplane.test_cp_fanout import _Mirror

WEB = spec("web", replicas=1)
SVC = service("shop", WEB)


def deliver(mirror: _Mirror, changes: list[tuple[str, bytes | None]], revision: int
            ) -> Touched:
    """One batch of changes into the mirror's view, told to its listeners (the leader)."""
    touched = Touched()
    for key, value in changes:
        mirror.view.apply(key, value, revision, touched)
    for listener in mirror.listeners:
        listener(touched, False)
    return touched


def waiting_cluster() -> _Mirror:
    """Two ready nodes with sessions s-n1 and s-n2, and a task of app shop on no node
    (waiting for room)."""
    view = ClusterView(apps={"shop": app("shop", [WEB])}, services={SVC.meta.id: SVC},
                       tasks={"w1": task(SVC, 0, tid="w1")},
                       nodes={n: node(n) for n in ("n1", "n2")})
    for i, n in enumerate(("n1", "n2"), start=1):
        view.apply(keys.alive_key(n), f"s-{n}".encode(), i)
    assert view.apps_waiting() == {"shop"}
    return _Mirror(view)


def quiet_leader(mirror: _Mirror) -> Leader:
    """A leader past its first round of everything, with nothing left to look at."""
    leader = Leader(store=None, mirror=mirror)  # type: ignore[arg-type]
    leader._take_dirty(judge=False)
    return leader


def test_a_batch_of_marks_alone_wakes_no_round() -> None:
    mirror = waiting_cluster()
    leader = quiet_leader(mirror)
    touched = deliver(mirror, [(keys.unreachable_key("n1"), b"s-n1"),
                            (keys.unreachable_key("n2"), b"s-n2")], 10)
    assert mirror.view.unreachable_nodes() == {"n1", "n2"}  # placement sees them
    assert not wakes_leader(touched, reloaded=False)
    assert not leader._dirty.is_set()


def test_a_node_losing_its_mark_wakes_the_tasks_waiting_for_room() -> None:
    mirror = waiting_cluster()
    deliver(mirror, [(keys.unreachable_key("n1"), b"s-n1")], 10)
    leader = quiet_leader(mirror)
    touched = deliver(mirror, [(keys.unreachable_key("n1"), None)], 11)
    assert wakes_leader(touched, reloaded=False)
    assert leader._dirty.is_set()
    apps, _ = leader._take_dirty(judge=False)
    assert apps is None or "shop" in apps  # None: a round of everything (every 5 s)


def test_losing_a_mark_of_an_older_session_changes_nothing_placement_uses() -> None:
    mirror = waiting_cluster()
    deliver(mirror, [(keys.unreachable_key("n1"), b"s-old")], 10)  # n1 registered again
    assert mirror.view.unreachable_nodes() == set()
    leader = quiet_leader(mirror)
    touched = deliver(mirror, [(keys.unreachable_key("n1"), None)], 11)
    assert not wakes_leader(touched, reloaded=False)
    assert not leader._dirty.is_set()


kinds = st.sets(st.sampled_from(["apps", "services", "tasks", "status", "nodes", "volumes",
                                 "alive", "unreachable"]))


@settings(deadline=None)
@given(kinds=kinds, nodes=st.sets(st.sampled_from(["n1", "n2"])), reloaded=st.booleans())
def test_only_marks_that_change_no_node_are_no_news(
        kinds: set[str], nodes: set[str], reloaded: bool) -> None:
    touched = Touched(kinds=set(kinds), node_objects=set(nodes))
    quiet = kinds <= {"unreachable"} and not nodes and not reloaded
    assert wakes_leader(touched, reloaded=reloaded) is not quiet
