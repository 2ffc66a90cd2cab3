"""A large scale-up is many bounded rounds, and a scale-down or delete is never held up.

plan_round creates at most `create_budget` tasks per round and says when it stopped
short (`Decision.unfinished`), so the leader's rounds stay short whatever a service asks.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.commits import Phase, decision_commits
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import (
    GIB,
    Revisions,
    app,
    apply_decision,
    counter_ids,
    live_tasks,
    node,
    service,
    simulate_agents,
    spec,
)


def _view(replicas: dict[str, int], nodes: int) -> ClusterView:
    specs = [spec(name, replicas=n, cpu=1, mem=1) for name, n in replicas.items()]
    ns = [node(f"n{i}", cpu=10**6, mem=10**4 * GIB) for i in range(nodes)]
    return ClusterView(
        apps={"shop": app("shop", specs)},
        services={f"shop/{s.name}": service("shop", s) for s in specs},
        nodes={n.meta.id: n for n in ns}, alive={n.meta.id for n in ns},
    )


@settings(max_examples=30, deadline=None)
@given(replicas=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 100),
                                min_size=1),
       budget=st.integers(20, 100), nodes=st.integers(0, 2))
def test_each_round_creates_at_most_its_budget_and_all_arrive(
    replicas: dict[str, int], budget: int, nodes: int
) -> None:
    view, revs, new_id = _view(replicas, nodes), Revisions(), counter_ids()
    wanted = sum(replicas.values())
    rounds_needed = -(-wanted // budget)
    for i in range(rounds_needed + 3):
        d = plan_round(view, now_ms=1000 + i, new_id=new_id, create_budget=budget)
        assert len(d.create_tasks) <= budget
        made_so_far = sum(len(live_tasks(view, f"shop/{n}")) for n in replicas)
        assert d.unfinished == (wanted - made_so_far > budget)
        apply_decision(view, d, revs)
        simulate_agents(view)
    for name, n in replicas.items():
        live = live_tasks(view, f"shop/{name}")
        assert len(live) == n
        assert sorted(t.slot for t in live) == list(range(1, n + 1))


def test_scale_to_zero_mid_scale_up_removes_every_task_in_the_next_round() -> None:
    view, revs, new_id = _view({"web": 10_000}, nodes=0), Revisions(), counter_ids()
    for i in range(3):
        d = plan_round(view, now_ms=1000 + i, new_id=new_id, create_budget=1000)
        assert len(d.create_tasks) == 1000 and d.unfinished
        apply_decision(view, d, revs)
    assert len(view.tasks) == 3000
    zero = spec("web", replicas=0, cpu=1, mem=1)
    view.services["shop/web"] = service("shop", zero, version=99)
    d = plan_round(view, now_ms=2000, new_id=new_id, create_budget=1000)
    assert not d.create_tasks and not d.unfinished
    assert len(d.delete_tasks) == 3000  # never placed: deleted at once


def test_deleting_the_app_mid_scale_up_stops_creating() -> None:
    view, revs, new_id = _view({"web": 5_000}, nodes=1), Revisions(), counter_ids()
    d = plan_round(view, now_ms=1000, new_id=new_id, create_budget=1000)
    apply_decision(view, d, revs)
    simulate_agents(view)
    view.services.clear()
    view.apps.clear()
    d = plan_round(view, now_ms=2000, new_id=new_id, create_budget=1000)
    assert not d.create_tasks and not d.unfinished
    assert all(t.desired_state == objects_pb2.DESIRED_REMOVE for t in d.update_tasks)
    assert len(d.update_tasks) + len(d.delete_tasks) == 1000


def test_ten_replicas_on_each_of_a_thousand_nodes_come_in_one_round() -> None:
    """The default budget creates a 10,000-replica service in one round: each node hears
    of its ten tasks together (one batch of containers, one status call), not in two
    rounds of five, the second waiting for the first one's commits."""
    view, new_id = _view({"web": 10_000}, nodes=1_000), counter_ids()
    d = plan_round(view, now_ms=1000, new_id=new_id)
    assert len(d.create_tasks) == 10_000 and not d.unfinished
    assert {t.node for t in d.create_tasks} == set(view.nodes)


def test_the_commits_of_that_round_cut_no_nodes_tasks() -> None:
    """Four nodes' ten tasks to a transaction of at most 48: a node cut in two would hear
    of its tasks in two session messages and report them in two status calls."""
    view, new_id = _view({"web": 10_000}, nodes=1_000), counter_ids()
    d = plan_round(view, now_ms=1000, new_id=new_id)
    assert len(d.create_tasks) == 10_000 and not d.unfinished
    where: dict[str, set[int]] = {}
    for i, commit in enumerate(decision_commits(d, now_ms=1000, phase=Phase.ADD)):
        for value in commit.puts.values():
            where.setdefault(decode(objects_pb2.Task, value).node, set()).add(i)
    assert len(where) == 1_000
    assert all(len(commits) == 1 for commits in where.values())
