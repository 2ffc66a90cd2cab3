"""Node liveness: a node is ready while its etcd lease (the `alive` key) exists. Pure.

The lease's TTL is the grace: when an agent's heartbeats stop, etcd expires the lease,
the alive key vanishes, and the next round marks the node down.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from dockyard.controlplane.reconcile.decision import Decision
from dockyard.v1 import objects_pb2


def changing_nodes(nodes: Mapping[str, objects_pb2.Node], alive: Set[str], *,
                   mark_down: bool = True) -> set[str]:
    """The nodes `reconcile_nodes` would change (ready again, or down). Pure: the leader
    asks before a round, to give the round the apps those nodes run."""
    out = set()
    for name, node in nodes.items():
        is_alive = name in alive
        if (is_alive and node.state != objects_pb2.NODE_READY) or (
                mark_down and not is_alive and node.state != objects_pb2.NODE_DOWN):
            out.add(name)
    return out


def reconcile_nodes(
    *,
    nodes: Mapping[str, objects_pb2.Node],
    alive: Set[str],
    now_ms: int,
    decision: Decision,
    mark_down: bool = True,
) -> None:
    for name, node in nodes.items():
        is_alive = name in alive
        if is_alive and node.state != objects_pb2.NODE_READY:
            changed = _copy(node)
            changed.state = objects_pb2.NODE_READY
            changed.message = ""
            changed.down_since_ms = 0
            decision.update_nodes.append(changed)
            decision.note(app="", kind="node", obj=name, message="ready", now_ms=now_ms)
        elif mark_down and not is_alive and node.state != objects_pb2.NODE_DOWN:
            changed = _copy(node)
            changed.state = objects_pb2.NODE_DOWN
            changed.message = "heartbeat lapsed"
            changed.down_since_ms = now_ms
            decision.update_nodes.append(changed)
            decision.note(
                app="", kind="node", obj=name, message="down: heartbeat lapsed", now_ms=now_ms
            )


def _copy(node: objects_pb2.Node) -> objects_pb2.Node:
    out = objects_pb2.Node()
    out.CopyFrom(node)
    return out
