"""Which changed nodes make the leader's next round urgent (reconcile/lost.py lost_nodes).

A node whose liveness key went while it is still marked ready is about to be marked
down and its tasks replaced: the leader then skips its rest between rounds. A node
already down, one alive again, or one the view does not know are not lost.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.lost import lost_nodes
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import node, view_of

STATES = [objects_pb2.NODE_READY, objects_pb2.NODE_DOWN, objects_pb2.NODE_STATE_UNSPECIFIED]


def test_a_ready_node_without_its_liveness_key_is_lost() -> None:
    view = view_of(nodes=[node("a"), node("b"), node("c", state=objects_pb2.NODE_DOWN)],
                   alive={"a"})
    assert lost_nodes(view, {"a", "b", "c", "ghost"}) == {"b"}


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(STATES), st.booleans()), min_size=0, max_size=12),
       st.sets(st.integers(min_value=0, max_value=14)))
def test_lost_means_ready_and_not_alive(nodes: list[tuple[int, bool]], asked: set[int]
                                        ) -> None:
    view = view_of(nodes=[node(f"n{i}", state=state) for i, (state, _) in enumerate(nodes)],
                   alive={f"n{i}" for i, (_, alive) in enumerate(nodes) if alive})
    names = {f"n{i}" for i in asked}
    expected = {f"n{i}" for i, (state, alive) in enumerate(nodes)
                if f"n{i}" in names and state == objects_pb2.NODE_READY and not alive}
    assert lost_nodes(view, names) == expected
