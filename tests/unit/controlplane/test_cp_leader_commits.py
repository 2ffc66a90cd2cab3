"""controlplane/commits.py decision_commits: bounded transactions with version checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.common.spec import rules
from dockyard.controlplane.commits import OBJECTS_PER_TXN, apps_of, decision_commits
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.quiet import QUIET_EVERY_S, QUIET_RATIO, quiet_pause_s
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.store.etcd import Commit, written_at
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import node, service, spec, task

ETCD_MAX_TXN_OPS = 128  # etcd's default --max-txn-ops
SVC = service("shop", spec("web"), version=9)


def _task(i: int, version: int = 0) -> objects_pb2.Task:
    return task(SVC, i, tid=f"t{i:03d}", version=version)


def _all(commits: list[Commit]) -> Commit:
    out = Commit()
    for c in commits:
        out.expect.update(c.expect)
        out.puts.update(c.puts)
        out.deletes += c.deletes
    return out


def test_empty_decision_yields_no_commit() -> None:
    assert list(decision_commits(Decision(), now_ms=1)) == []


def test_creates_expect_absent_keys() -> None:
    d = Decision(create_tasks=[_task(1), _task(2)])
    (c,) = decision_commits(d, now_ms=1)
    assert c.expect == {"/dockyard/tasks/shop/t001": 0, "/dockyard/tasks/shop/t002": 0}
    got = decode(objects_pb2.Task, c.puts["/dockyard/tasks/shop/t001"])
    assert (got.slot, got.service, got.meta.version) == (1, "web", 0)
    assert c.deletes == []


def test_updates_expect_their_version_and_store_none() -> None:
    t = _task(1, version=42)
    (c,) = decision_commits(Decision(update_tasks=[t]), now_ms=777)
    k = keys.task_key("shop", "t001")
    assert c.expect == {k: 42}
    stored = decode(objects_pb2.Task, c.puts[k])
    assert stored.meta.version == 0  # versions are mod revisions, never stored
    assert stored.meta.updated_ms == 777


def test_deletes_expect_their_version_and_remove_the_status_key() -> None:
    (c,) = decision_commits(Decision(delete_tasks=[_task(3, version=17)]), now_ms=1)
    assert c.expect == {"/dockyard/tasks/shop/t003": 17}
    assert c.deletes == ["/dockyard/tasks/shop/t003", "/dockyard/status/shop/t003"]
    assert c.puts == {}


def test_nodes_and_services_expect_their_versions() -> None:
    n = node("n1", version=5)
    s = service("shop", spec("db"), version=6)
    (c,) = decision_commits(Decision(update_nodes=[n], update_services=[s]), now_ms=1)
    assert c.expect == {"/dockyard/nodes/n1": 5, "/dockyard/services/shop/db": 6}
    assert decode(objects_pb2.Node, c.puts["/dockyard/nodes/n1"]).meta.version == 0
    assert decode(objects_pb2.Service, c.puts["/dockyard/services/shop/db"]).meta.version == 0


def test_events_ride_along_as_puts_without_expectations() -> None:
    d = Decision()
    d.note(app="shop", kind="task", obj="t1", message="hello", now_ms=123)
    (c,) = decision_commits(d, now_ms=1)
    assert c.expect == {}
    ((k, v),) = c.puts.items()
    assert k.startswith("/dockyard/events/shop/000000000000123-")
    assert decode(objects_pb2.Event, v).message == "hello"


@pytest.mark.parametrize(
    ("creates", "updates", "deletes"),
    [(0, 0, 0), (1, 0, 0), (48, 0, 0), (49, 0, 0), (100, 0, 0), (30, 30, 30), (0, 0, 97),
     (47, 1, 1)],
)
def test_task_changes_split_into_bounded_commits(creates: int, updates: int,
                                                 deletes: int) -> None:
    d = Decision(
        create_tasks=[_task(i) for i in range(creates)],
        update_tasks=[_task(1000 + i, version=3) for i in range(updates)],
        delete_tasks=[_task(2000 + i, version=4) for i in range(deletes)],
    )
    commits = list(decision_commits(d, now_ms=1))
    total = creates + updates + deletes
    assert len(commits) == -(-total // OBJECTS_PER_TXN)
    for c in commits:
        assert 0 < len(c.expect) <= OBJECTS_PER_TXN
        assert len(c.puts) + len(c.deletes) <= ETCD_MAX_TXN_OPS
    merged = _all(commits)
    assert len(merged.expect) == total
    assert sum(v == 0 for v in merged.expect.values()) == creates
    assert sum(v == 3 for v in merged.expect.values()) == updates
    assert sum(v == 4 for v in merged.expect.values()) == deletes
    assert len(merged.deletes) == 2 * deletes


def test_many_node_updates_are_bounded() -> None:
    d = Decision(update_nodes=[node(f"n{i}", version=2) for i in range(200)])
    for c in decision_commits(d, now_ms=1):
        assert len(c.expect) <= OBJECTS_PER_TXN


def test_many_events_are_bounded() -> None:
    d = Decision(create_tasks=[_task(i) for i in range(40)])
    for i in range(200):
        d.note(app="shop", kind="task", obj=f"t{i}", message="lost; replacing", now_ms=5)
    for c in decision_commits(d, now_ms=1):
        assert len(c.puts) + len(c.deletes) <= ETCD_MAX_TXN_OPS


def test_decision_commits_leaves_the_decision_alone() -> None:
    t = _task(1, version=42)
    list(decision_commits(Decision(update_tasks=[t]), now_ms=777))
    assert (t.meta.version, t.meta.updated_ms) == (42, 0)


def test_a_placement_compares_the_node_version_it_was_judged_against() -> None:
    placed = _task(1)
    placed.node = "n1"
    d = Decision(create_tasks=[placed], placed_on={"n1": 7})
    (c,) = decision_commits(d, now_ms=1)
    assert c.expect[keys.node_key("n1")] == 7
    assert c.expect[keys.task_key("shop", "t001")] == 0


def test_a_nodes_new_tasks_go_in_one_transaction() -> None:
    """Placement spreads a service round-robin over the nodes; committed in that order,
    each of a node's tasks would come in another transaction (another message to the
    node, another status batch back). Side by side, a node's tasks come together."""
    nodes = [f"n{i:02d}" for i in range(20)]
    tasks = []
    for i in range(200):  # round-robin, as spread places them
        t = _task(i)
        t.node = nodes[i % len(nodes)]
        tasks.append(t)
    commits = list(decision_commits(Decision(create_tasks=tasks), now_ms=1))
    assert sum(len(c.puts) for c in commits) == 200
    per_node: dict[str, set[int]] = {}
    for i, c in enumerate(commits):
        for value in c.puts.values():
            per_node.setdefault(decode(objects_pb2.Task, value).node, set()).add(i)
    # Ten tasks a node, 48 writes a transaction: four nodes to a transaction, none cut.
    assert all(len(spans) == 1 for spans in per_node.values())
    assert len(per_node) == 20


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "n1", "n2", "n3", "n4"]),
                          st.integers(min_value=1, max_value=60)), max_size=12),
       st.lists(st.integers(min_value=0, max_value=3), max_size=4))
def test_a_nodes_task_writes_share_one_transaction_whenever_they_fit(
        runs: list[tuple[str, int]], bulky: list[int]) -> None:
    """Whatever the mix of nodes (and tasks on no node), creates and deletes: each
    transaction stays within its bounds, every write is in exactly one, in the order
    the round made them, and a node's writes that fit in one transaction are in one."""
    creates, deletes, serial = [], [], 0
    for run, (name, count) in enumerate(runs):
        for _ in range(count):
            t = _task(serial, version=0 if run % 2 == 0 else 5)
            t.node = name
            if serial % 7 in bulky:  # now and then a task near the size of its spec limit
                t.spec.environment.update({f"K{i}": "v" * 4000 for i in range(15)})
            (creates if run % 2 == 0 else deletes).append(t)
            serial += 1
    d = Decision(create_tasks=creates, delete_tasks=deletes)
    commits = list(decision_commits(d, now_ms=1))
    where: dict[str, set[int]] = {}
    for i, c in enumerate(commits):
        task_keys = [k for k in c.expect if k.startswith(keys.TASKS)]
        assert 0 < len(task_keys) <= OBJECTS_PER_TXN
        assert len(c.expect) + len(c.puts) + len(c.deletes) <= 3 * OBJECTS_PER_TXN
        for k in task_keys:
            assert k not in where
            where[k] = {i}
    assert len(where) == len(creates) + len(deletes)
    for group in (creates, deletes):
        by_node: dict[str, list[objects_pb2.Task]] = {}
        for t in group:
            by_node.setdefault(t.node, []).append(t)
        for name, tasks in by_node.items():
            spans = {i for t in tasks for i in where[keys.task_key(t.app, t.meta.id)]}
            small = sum(len(t.SerializeToString()) for t in tasks) < 512 * 1024
            if name and len(tasks) <= OBJECTS_PER_TXN and small:
                assert len(spans) == 1, (name, len(tasks), spans)


def test_large_tasks_split_by_bytes_inside_etcds_request_limit() -> None:
    """Each task carries its service's spec (up to 64 KiB): 48 of them would be 3 MiB."""
    big = spec("web", env={f"K{i}": "v" * 4000 for i in range(15)})
    svc = service("shop", big)
    tasks = [task(svc, i, tid=f"t{i:03d}") for i in range(48)]
    commits = list(decision_commits(Decision(create_tasks=tasks), now_ms=1))
    assert len(commits) > 1
    for c in commits:
        size = sum(len(k) + len(v) for k, v in c.puts.items())
        assert size <= rules.ETCD_MAX_REQUEST_BYTES - 256 * 1024
    assert sum(len(c.puts) for c in commits) == 48


def test_marking_a_node_down_expects_its_lease_still_gone() -> None:
    """A round judges a snapshot; an agent that came back meanwhile is not marked down."""
    down = node("n1", version=5)
    down.state = objects_pb2.NODE_DOWN
    (c,) = decision_commits(Decision(update_nodes=[down]), now_ms=1)
    assert c.expect == {"/dockyard/nodes/n1": 5, "/dockyard/alive/n1": 0}


def test_apps_of_names_the_apps_whose_tasks_a_commit_touches() -> None:
    commit = Commit(expect={keys.task_key("shop", "t1"): 4, keys.node_key("h1"): 2},
                    puts={keys.task_key("blog", "t2"): b""},
                    deletes=[keys.status_key("shop", "t1")])
    assert apps_of(commit) == {"shop", "blog"}
    assert apps_of(Commit(puts={keys.node_key("h1"): b""})) == set()


def test_written_at_reads_the_revision_etcd_stamped_on_the_writes() -> None:
    from aetcd.rpc import rpc_pb2

    put = rpc_pb2.ResponseOp(response_put=rpc_pb2.PutResponse(
        header=rpc_pb2.ResponseHeader(revision=41)))
    delete = rpc_pb2.ResponseOp(response_delete_range=rpc_pb2.DeleteRangeResponse(
        header=rpc_pb2.ResponseHeader(revision=41)))
    assert written_at([put, delete]) == 41
    assert written_at([]) == 0


@given(st.floats(min_value=0.0, max_value=10.0, allow_nan=False))
def test_a_status_round_waits_in_proportion_to_the_last_round_within_the_bound(
        round_s: float) -> None:
    pause = quiet_pause_s(round_s)
    assert 0.0 <= pause <= QUIET_EVERY_S
    assert pause == QUIET_EVERY_S or pause == pytest.approx(QUIET_RATIO * round_s)
