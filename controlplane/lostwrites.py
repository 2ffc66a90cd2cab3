"""A lost-node round's writes: one transaction per lost node, all at once. Pure.

A round's Decision goes to etcd in three waves (controlplane/commits.py): what it takes
away, then what it adds, then nodes, services and events, each wave waiting for the
one before, so that a replacement never runs beside the task it replaces. A lost-node
round (reconcile/lost.py) writes little for each lost node: the node marked down, its
tasks deleted, and a replacement of each in the same slot on a live node. That fits in
one transaction, and one transaction is all or nothing: the replacements of a node's
tasks land with their deletes or not at all, whatever the other transactions do. So
the waves are not needed for the promise, and every lost node's transaction (and the
round's events) can go to etcd at once: at 10,000 tasks, the three waves of a round
that replaced 40-70 nodes took 0.3-0.8 s, one after another.

Each write keeps the condition it has in the waves (controlplane/commits.py): the
node's liveness key still gone, each task at the version the round saw, each new task
absent, each node a replacement is placed on at the version its placement was judged
against. `lost_commits` returns None when the Decision is not a plain lost-node round
or a lost node's writes do not fit in one transaction: the leader then commits it in
waves, as any other.
"""

from __future__ import annotations

from dockyard.controlplane.commits import decision_commits
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.store.etcd import Commit
from dockyard.v1 import objects_pb2

# A lost-node round's transactions in flight at once (the status writer's figure,
# controlplane/api/statuses.py): a host of a hundred nodes is a hundred of them.
LOST_COMMITS_IN_FLIGHT = 16


def lost_commits(decision: Decision, *, now_ms: int) -> list[Commit] | None:
    """One transaction per node `decision` marks down (the node, its tasks deleted, the
    replacements of those desired running: the new task of the same app, service and
    slot), then the round's events; or None (module docstring). Pure."""
    down = {n.meta.id: n for n in decision.update_nodes}
    if (decision.update_tasks or decision.update_services or decision.put_volumes
            or not down or any(n.state != objects_pb2.NODE_DOWN for n in down.values())):
        return None
    replacing = {(t.app, t.service, t.slot): t for t in decision.create_tasks}
    if len(replacing) != len(decision.create_tasks):
        return None  # two new tasks for one slot: not a lost-node round's
    parts = {name: Decision(update_nodes=[n], placed_on=decision.placed_on)
             for name, n in down.items()}
    for t in decision.delete_tasks:
        part = parts.get(t.node)
        if part is None:
            return None  # a task taken off a node that is not going down
        part.delete_tasks.append(t)
        if t.desired_state == objects_pb2.DESIRED_RUNNING:
            new = replacing.pop((t.app, t.service, t.slot), None)
            if new is not None:
                part.create_tasks.append(new)
    if replacing:
        return None  # a new task that replaces no lost one
    commits: list[Commit] = []
    for name in sorted(parts):
        one = list(decision_commits(parts[name], now_ms=now_ms))
        if len(one) != 1:
            return None
        commits += one
    commits += decision_commits(Decision(events=list(decision.events)), now_ms=now_ms)
    return commits
