"""Correctness under churn, as pure logic: what a round writes first, statuses only for
tasks that exist, orphans found and removed, events bounded per round."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dockyard.controlplane.api.statuses import status_commits, writes_of
from dockyard.controlplane.commits import Phase, decision_commits, orphan_commits
from dockyard.controlplane.reconcile.decision import EVENTS_PER_ROUND, Decision
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.store.etcd import Commit
from dockyard.controlplane.view import ClusterView
from tests.unit.controlplane.builders import (
    app,
    counter_ids,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)


def _lost_node_round(replicas: int) -> Decision:
    svc = service("shop", spec("web", replicas=replicas, cpu=1, mem=1))
    tasks = [task(svc, i + 1, tid=f"t{i:03d}", node="n1" if i % 2 else "n2")
             for i in range(replicas)]
    view = view_of(apps=[app("shop", [svc.spec])], services=[svc], tasks=tasks,
                   statuses={t.meta.id: status() for t in tasks},
                   nodes=[node("n1"), node("n2"), node("n3")], alive={"n2", "n3"})
    return plan_round(view, now_ms=5000, new_id=counter_ids("new"))


def test_lost_tasks_are_written_before_their_replacements_and_only_while_the_node_is_gone(
) -> None:
    d = _lost_node_round(replicas=200)  # enough for several transactions
    commits = list(decision_commits(d, now_ms=5000))
    assert len(commits) > 2
    first_create = min(i for i, c in enumerate(commits)
                       if any(v == 0 and "/tasks/" in k for k, v in c.expect.items()))
    lost = {keys.task_key("shop", t.meta.id) for t in d.delete_tasks + d.update_tasks
            if t.node == "n1"}
    assert len(lost) == 100
    for i, c in enumerate(commits):
        mine = lost & (set(c.deletes) | set(c.puts))
        if mine:
            assert i <= first_create, "a replacement was committed before the task it replaces"
            assert c.expect[keys.alive_key("n1")] == 0  # only while n1's lease is gone


def test_a_node_lost_with_many_tasks_writes_a_bounded_number_of_events() -> None:
    d = _lost_node_round(replicas=400)
    shop = [e for e in d.events if e.app == "shop"]
    assert len(shop) == EVENTS_PER_ROUND + 1
    assert "more events" in shop[-1].message


@given(st.lists(st.sampled_from(["", "a", "b"]), max_size=300))
def test_events_per_app_per_round_are_bounded(apps: list[str]) -> None:
    d = Decision()
    for i, a in enumerate(apps):
        d.note(app=a, kind="task", obj=str(i), message="m", now_ms=1)
    for a in set(apps):
        kept = sum(1 for e in d.events if e.app == a)
        assert kept == min(apps.count(a), EVENTS_PER_ROUND + 1)


@given(st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3", "t4"]), st.binary(max_size=4)),
                max_size=40), st.integers(1, 5))
def test_status_writes_require_their_task_and_keep_the_last_report(
        reports: list[tuple[str, bytes]], per_txn: int) -> None:
    writes = [(keys.task_key("shop", tid), keys.status_key("shop", tid), v)
              for tid, v in reports]
    commits = status_commits(writes, per_txn=per_txn)
    assert all(len(c.puts) <= per_txn for c in commits)
    written = {}
    for c in commits:
        # Every status key comes with its own task key, which must exist.
        assert [keys.last_segment(k) for k in c.exists] == [
            keys.last_segment(k) for k in c.puts]
        pairs = zip(c.exists, c.puts.items(), strict=True)
        assert writes_of(c) == [(tk, sk, v) for tk, (sk, v) in pairs]
        written.update(c.puts)
    assert written == {keys.status_key("shop", tid): v for tid, v in reports}


def test_statuses_of_gone_tasks_are_found_and_deleted_only_while_the_task_stays_gone(
) -> None:
    view = ClusterView()
    svc = service("shop", spec("web"))
    live = task(svc, 1, tid="live")
    view.apply(keys.task_key("shop", "live"), encode(live), 1)
    view.apply(keys.status_key("shop", "live"), encode(status()), 2)
    view.apply(keys.status_key("shop", "gone"), encode(status()), 3)
    view.apply(keys.status_key("other", "gone2"), encode(status()), 4)
    assert view.orphaned_statuses() == [("other", "gone2"), ("shop", "gone")]
    (c,) = orphan_commits(view.orphaned_statuses())
    assert c.deletes == [keys.status_key("other", "gone2"), keys.status_key("shop", "gone")]
    assert c.expect == {keys.task_key("other", "gone2"): 0, keys.task_key("shop", "gone"): 0}
    view.apply(keys.status_key("shop", "gone"), None, 5)
    assert view.orphaned_statuses() == [("other", "gone2")]


def test_the_phases_of_a_decision_write_what_the_whole_writes_in_the_same_order() -> None:
    d = _lost_node_round(replicas=120)

    def writes(commits: list[Commit]) -> list[tuple[object, ...]]:
        return [(sorted(c.expect.items()), sorted(c.puts), c.deletes) for c in commits]

    whole = list(decision_commits(d, now_ms=5000))
    phased = [c for phase in (Phase.TAKE, Phase.ADD, Phase.REST)
              for c in decision_commits(d, now_ms=5000, phase=phase)]
    flat = [(k, v) for w in writes(whole) for k, v in w[0]]
    assert sorted(flat) == sorted((k, v) for w in writes(phased) for k, v in w[0])
    def objects(commits: list[Commit]) -> list[str]:
        return [k for c in commits for k in c.puts if "/events/" not in k]  # events: new keys
    assert objects(whole) == objects(phased)
    # No replacement shares a phase with a removal: removals finish first.
    takes = list(decision_commits(d, now_ms=5000, phase=Phase.TAKE))
    assert all(v != 0 or "/alive/" in k for c in takes for k, v in c.expect.items())
