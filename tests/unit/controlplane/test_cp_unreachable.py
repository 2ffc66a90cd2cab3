"""Unreachable nodes: marked by the replica that lost their stream, read by placement.

A node whose agent is gone (its session stream closed without a goodbye) stays ready
for the tasks it has until it is declared down, but new tasks go elsewhere; a mark
of an older session (the node has registered again since) counts for nothing.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.liveness import marks_to_change
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.snapshot import node_infos
from dockyard.controlplane.store import keys
from dockyard.controlplane.view import ClusterView, Touched
from tests.unit.controlplane.builders import app, counter_ids, node, service, spec


def marked_view(marks: dict[str, str], sessions: dict[str, str]) -> ClusterView:
    view = ClusterView()
    for n, sid in sessions.items():
        view.apply(keys.alive_key(n), sid.encode(), 1)
    for n, sid in marks.items():
        view.apply(keys.unreachable_key(n), sid.encode(), 2)
    return view


def test_a_mark_counts_only_for_the_session_it_names() -> None:
    view = marked_view({"a": "s1", "b": "old", "c": "s3"}, {"a": "s1", "b": "s2"})
    assert view.unreachable_nodes() == {"a"}  # b registered again; c has no session
    view.apply(keys.unreachable_key("a"), None, 3)
    view.apply(keys.alive_key("b"), None, 4)
    assert view.unreachable_nodes() == set()
    assert view.sessions == {"a": "s1"}


def test_a_node_that_loses_its_mark_is_news_for_the_tasks_waiting_for_room() -> None:
    view = marked_view({"a": "s1"}, {"a": "s1"})
    marked, cleared = Touched(), Touched()
    view.apply(keys.unreachable_key("a"), b"s1", 3, marked)
    view.apply(keys.unreachable_key("a"), None, 4, cleared)
    assert marked.node_objects == set()  # a mark only steers the next new tasks
    assert cleared.node_objects == {"a"}  # reachable again: it may take waiting tasks


def test_new_tasks_go_to_reachable_nodes_only() -> None:
    web = spec("web", replicas=6, cpu=0, mem=0)
    view = ClusterView(apps={"a": app("a", [web], strategy=1)},
                       services={"a/web": service("a", web)},
                       nodes={n: node(n) for n in ("n1", "n2", "n3")},
                       alive={"n1", "n2", "n3"})
    for n in ("n1", "n2", "n3"):
        view.apply(keys.alive_key(n), f"s-{n}".encode(), 5)
    view.apply(keys.unreachable_key("n3"), b"s-n3", 6)
    d = plan_round(view, now_ms=1, new_id=counter_ids())
    assert len(d.create_tasks) == 6
    assert {t.node for t in d.create_tasks} == {"n1", "n2"}
    assert not d.update_nodes  # still ready: it is declared by the grace, not sooner
    ready = {i.name: i.ready for i in node_infos(list(view.nodes.values()), (),
                                                 unreachable={"n3"})}
    assert ready == {"n1": True, "n2": True, "n3": False}


@settings(deadline=None, max_examples=200)
@given(sessions=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["s1", "s2"])),
       marked=st.dictionaries(st.sampled_from("abcdefg"), st.sampled_from(["s1", "s2"])),
       closed=st.sets(st.sampled_from("abcdefg")))
def test_marks_follow_the_closed_streams_of_the_sessions_held(
        sessions: dict[str, str], marked: dict[str, str], closed: set[str]) -> None:
    mark, unmark = marks_to_change(sessions, marked, lambda n: n not in closed)
    after = {n: sid for n, sid in marked.items() if n not in unmark}
    after.update(mark)
    assert after == {n: sid for n, sid in sessions.items() if n in closed}
    assert all(marked[n] == sid for n, sid in unmark.items())  # only what is there
    assert not set(mark) & {n for n, sid in marked.items() if sessions.get(n) == sid
                            and n in closed}  # nothing written twice
