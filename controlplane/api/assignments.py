"""What a node's session sends next: its assignments as an increment from what it was
sent, its apps' endpoint tables, its volumes to remove. Pure.

The first message of a session is the complete set; whatever it lacks, the agent
removes. Later messages carry only what changed since (controlplane/api/sessions.py
sends them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.controlplane.endpoints import EndpointTables
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import removals_for
from dockyard.v1 import dispatcher_pb2, objects_pb2


@dataclass
class SentState:
    """What one session sent so far: task versions and endpoint epochs (secrets and
    configs: controlplane/files/delivery.py)."""

    tasks: dict[str, int] = field(default_factory=dict)
    endpoints: dict[str, int] | None = None  # app -> epoch of its table
    complete: bool = True  # the next message is the complete set
    removals: list[tuple[str, str]] = field(default_factory=list)  # volumes to remove


def next_message(
    view: ClusterView, node: str, sent: SentState, endpoints: EndpointTables,
    subscriptions: list[dispatcher_pb2.LogSubscription], *, tables: bool = True,
) -> dispatcher_pb2.SessionMessage | None:
    """What `node`'s session sends now, or None; updates `sent`. Pure, and proportional
    to the node's own tasks: the tables it sends are shared (`EndpointTables`). With
    `tables=False`, a message with new endpoints says so (`has_endpoints`) but leaves
    them out: the caller appends `endpoints.wire(sent.endpoints)`, serialized once for
    every session."""
    tasks = view.tasks_on(node)
    complete = sent.complete
    changes, sent_now = assignments_for(tasks, {} if complete else sent.tasks)
    apps = {t.app for t in tasks}
    epochs = {a: endpoints.epochs.get(a, 0) for a in apps}
    new_endpoints = complete or epochs != sent.endpoints
    sent.tasks, sent.endpoints, sent.complete = sent_now, epochs, False
    removals = removals_for(node=node, records=view.volumes.values(), tasks=tasks)
    new_removals = complete or removals != sent.removals
    sent.removals = removals
    if not (complete or changes or new_endpoints or subscriptions or new_removals):
        return None
    return dispatcher_pb2.SessionMessage(
        complete=complete,
        assignments=changes,
        endpoints=endpoints.tables(apps) if new_endpoints and tables else [],
        has_endpoints=new_endpoints,
        subscriptions=subscriptions,
        remove_volumes=[volume for volume, _ in removals],
        volume_names=[name for _, name in removals],
        has_remove_volumes=new_removals,
    )


def assignments_for(
    mirror_view_tasks: list[objects_pb2.Task], sent: dict[str, int]
) -> tuple[list[dispatcher_pb2.Assignment], dict[str, int]]:
    """The increment from what was sent to what is current. Pure."""
    current = {t.meta.id: t for t in mirror_view_tasks}
    out = [
        dispatcher_pb2.Assignment(action=dispatcher_pb2.Assignment.UPDATE, task=t)
        for tid, t in current.items()
        if sent.get(tid) != t.meta.version
    ]
    for tid in sent:
        if tid not in current:
            gone = objects_pb2.Task()
            gone.meta.id = tid
            remove = dispatcher_pb2.Assignment.REMOVE
            out.append(dispatcher_pb2.Assignment(action=remove, task=gone))
    return out, {tid: t.meta.version for tid, t in current.items()}
