"""A Decision: everything one reconcile round wants to change, as data."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.v1 import objects_pb2

EVENTS_PER_ROUND = 50


@dataclass
class Decision:
    """Objects to create or overwrite (each checked against its version) and to delete."""

    create_tasks: list[objects_pb2.Task] = field(default_factory=list)
    update_tasks: list[objects_pb2.Task] = field(default_factory=list)
    delete_tasks: list[objects_pb2.Task] = field(default_factory=list)
    update_nodes: list[objects_pb2.Node] = field(default_factory=list)
    update_services: list[objects_pb2.Service] = field(default_factory=list)
    events: list[objects_pb2.Event] = field(default_factory=list)
    # Volume records to write (a binding made or moved), each against its version.
    put_volumes: list[objects_pb2.Volume] = field(default_factory=list)
    # Nodes this round placed tasks on, with the versions the placement was judged
    # against: the commit compares them, so a node drained or lost meanwhile refuses it.
    placed_on: dict[str, int] = field(default_factory=dict)
    # The round stopped short of its goal (its budget of new tasks ran out): the leader
    # runs another round at once rather than waiting for a change.
    unfinished: bool = False
    # Seconds the scheduler took to place this round's pending tasks (a measurement for
    # the dockyard_placement_seconds metric; 0 when nothing was pending).
    placement_s: float = 0.0
    # Apps of the round's `quiet` found at rest (their services' counts were all it
    # did for them): their next statuses can wait for a cheap round.
    at_rest: set[str] = field(default_factory=set)

    def empty(self) -> bool:
        return not (
            self.create_tasks
            or self.update_tasks
            or self.delete_tasks
            or self.update_nodes
            or self.update_services
            or self.put_volumes
        )

    # Events each app (and the cluster, app "") got this round, to keep them bounded.
    noted: dict[str, int] = field(default_factory=dict)

    def note(self, *, app: str, kind: str, obj: str, message: str, now_ms: int) -> None:
        """Record an event; past EVENTS_PER_ROUND for one app in one round, only a count
        is kept (a node lost with 5,000 tasks writes a few events, not 5,000)."""
        n = self.noted.get(app, 0) + 1
        self.noted[app] = n
        if n <= EVENTS_PER_ROUND:
            self.events.append(objects_pb2.Event(
                timestamp_ms=now_ms, kind=kind, object=obj, message=message, app=app))
        elif n == EVENTS_PER_ROUND + 1:
            self.events.append(objects_pb2.Event(
                timestamp_ms=now_ms, kind=kind, object=obj, app=app,
                message="more events this round than are kept; see get tasks"))
