"""A lost-node round's writes, one transaction per lost node (controlplane/lostwrites.py).

What a user would check after a host dies: whatever order etcd takes the transactions
in, and even when one of the nodes comes back before its transaction lands, every slot
is held by exactly one task, no replacement runs beside the task it replaces, and a lost
node is marked down together with its tasks' replacements or not at all.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.lostwrites import lost_commits
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.lost import plan_lost
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode
from dockyard.controlplane.store.etcd import Commit
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import counter_ids
from tests.unit.controlplane.test_cp_round_lost import cluster


class Store:
    """Keys with their values and mod revisions; a transaction applies only when each
    expectation holds (0: the key is absent), as etcd's."""

    def __init__(self, view: ClusterView) -> None:
        self.revision = 1
        self.data: dict[str, tuple[bytes, int]] = {}
        for t in view.tasks.values():
            self.data[keys.task_key(t.app, t.meta.id)] = (t.SerializeToString(), t.meta.version)
        for n in view.nodes.values():
            self.data[keys.node_key(n.meta.id)] = (n.SerializeToString(), n.meta.version)
        for name in view.alive:
            self.data[keys.alive_key(name)] = (b"session", 1)

    def put(self, key: str, value: bytes) -> None:
        self.revision += 1
        self.data[key] = (value, self.revision)

    def commit(self, c: Commit) -> bool:
        for key, version in c.expect.items():
            held = self.data.get(key)
            if (held is None and version != 0) or (held is not None and held[1] != version):
                return False
        self.revision += 1
        for key in c.deletes:
            self.data.pop(key, None)
        for key, value in c.puts.items():
            self.data[key] = (value, self.revision)
        return True

    def tasks(self) -> list[objects_pb2.Task]:
        return [decode(objects_pb2.Task, v) for k, (v, _) in self.data.items()
                if k.startswith(keys.TASKS)]

    def node_state(self, name: str) -> int:
        return decode(objects_pb2.Node, self.data[keys.node_key(name)][0]).state


def test_each_lost_node_is_one_transaction_and_the_events_follow() -> None:
    view = cluster(5, {"web": 10, "db": 5}, alive={"n0", "n1", "n2"})
    d = plan_lost(view, now_ms=5, new_id=counter_ids("r"))
    assert d is not None
    commits = lost_commits(d, now_ms=5)
    assert commits is not None
    lost = [c for c in commits if c.deletes]
    assert len(lost) == 2  # n3 and n4
    for c, name in zip(lost, ("n3", "n4"), strict=True):
        assert c.expect[keys.alive_key(name)] == 0  # only while its lease is still gone
        gone = {t.meta.id for t in view.tasks.values() if t.node == name}
        assert {k for k in c.deletes if k.startswith(keys.TASKS)} == {
            keys.task_key("a", tid) for tid in gone}
        new = [decode(objects_pb2.Task, v) for k, v in c.puts.items()
               if k.startswith(keys.TASKS)]
        assert sorted(t.slot for t in new) == sorted(view.tasks[tid].slot for tid in gone)
        assert all(t.node in {"n0", "n1", "n2"} for t in new)
        assert keys.node_key(name) in c.puts
    assert all(not c.deletes and not c.expect for c in commits[2:])  # events alone


@settings(deadline=None, max_examples=150)
@given(nodes=st.integers(3, 7), replicas=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       dead=st.sets(st.integers(0, 6), min_size=1), back=st.sets(st.integers(0, 6)),
       order=st.randoms(use_true_random=False))
def test_in_any_order_and_with_nodes_back_each_slot_is_held_once(
        nodes: int, replicas: list[int], dead: set[int], back: set[int], order) -> None:
    names = {f"n{i}" for i in range(nodes)}
    dead_names = {f"n{1 + i % (nodes - 1)}" for i in dead}  # n0 lives
    alive = names - dead_names
    view = cluster(nodes, {f"s{i}": r for i, r in enumerate(replicas)}, alive)
    d = plan_lost(view, now_ms=1, new_id=counter_ids("r"))
    assert d is not None
    commits = lost_commits(d, now_ms=1)
    assert commits is not None
    store = Store(view)
    returning = {f"n{1 + i % (nodes - 1)}" for i in back} & dead_names
    for name in sorted(returning):  # its agent registered again before the commits
        store.put(keys.alive_key(name), b"new session")
    order.shuffle(commits)
    for c in commits:
        store.commit(c)
    tasks = store.tasks()
    for i, r in enumerate(replicas):
        slots = Counter(t.slot for t in tasks if t.service == f"s{i}")
        assert sorted(slots.items()) == [(s, 1) for s in range(1, r + 1)]
    for name in dead_names:
        on_it = [t for t in tasks if t.node == name]
        if name in returning:  # nothing of its changed: its tasks stay, it stays ready
            assert len(on_it) == sum(1 for t in view.tasks.values() if t.node == name)
            assert store.node_state(name) == objects_pb2.NODE_READY
        else:
            assert not on_it
            assert store.node_state(name) == objects_pb2.NODE_DOWN


def test_what_is_not_a_plain_lost_round_goes_in_waves() -> None:
    view = cluster(4, {"web": 8}, alive={"n0", "n1", "n2"})
    d = plan_lost(view, now_ms=1, new_id=counter_ids("r"))
    assert d is not None
    updated = Decision(update_nodes=d.update_nodes, delete_tasks=d.delete_tasks,
                       create_tasks=d.create_tasks, update_tasks=[d.delete_tasks[0]])
    assert lost_commits(updated, now_ms=1) is None
    extra = objects_pb2.Task()
    extra.CopyFrom(d.create_tasks[0])
    extra.slot = 99
    assert lost_commits(Decision(update_nodes=d.update_nodes, delete_tasks=d.delete_tasks,
                                 create_tasks=[*d.create_tasks, extra]), now_ms=1) is None
    assert lost_commits(Decision(), now_ms=1) is None
    # A lost node with more tasks than one transaction holds.
    big = cluster(2, {"web": 60}, alive={"n0"})
    d = plan_lost(big, now_ms=1, new_id=counter_ids("r"))
    assert d is not None
    assert lost_commits(d, now_ms=1) is None
