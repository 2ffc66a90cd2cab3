"""A round's Decision as etcd transactions: bounded, version-checked, in order. Pure.

The leader (controlplane/leader.py) commits a Decision in transactions of bounded size
(in objects and in bytes, inside etcd's limits), each checking the version of every
object it overwrites or deletes, so a round that raced with another writer changes
nothing stale. What a round takes away is written before what it adds, and a node's
task writes go together whenever they fit in one transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

from dockyard.controlplane.events import event_entry
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.store.etcd import Commit
from dockyard.v1 import objects_pb2

_T = TypeVar("_T", bound=Any)
_W = TypeVar("_W")
OBJECTS_PER_TXN = 48
# Well under etcd's --max-request-bytes (1.5 MiB): one task of the largest service
# spec (rules.Limits.service_bytes) always fits.
_BYTES_PER_TXN = 1024 * 1024


class Phase(enum.Enum):
    """The parts of a Decision, written in this order; the transactions inside one part
    touch different objects, so they may go to etcd at once (the leader's
    COMMITS_IN_FLIGHT)."""

    TAKE = "updates and deletes of tasks"
    ADD = "new tasks"
    REST = "nodes, services, events"
    ALL = "everything, in the order above"


Write = tuple[dict[str, int], dict[str, bytes], list[str]]  # (expect, puts, deletes)
# Writes that go together when they fit: a node's task writes in one part of a Decision.
Unit = tuple[Phase, str] | None


def _writes(
    decision: Decision, now_ms: int, phase: Phase = Phase.ALL
) -> Iterator[tuple[Unit, Write]]:
    """Each object's write as (unit, (expect, puts, deletes)), encoded from a copy; the
    unit names the part and node of a task write on a node (None for any other). Pure.

    Order matters, because a Decision goes out in several transactions: what a round
    takes away (task updates and deletes, among them the tasks lost with a node) is
    written before what it adds (the replacements), so a replacement never runs beside
    the task it replaces. Node changes go last: a placement on a node is judged against
    the node's version as the round saw it."""
    down = {n.meta.id for n in decision.update_nodes if n.state == objects_pb2.NODE_DOWN}

    def placed(t: objects_pb2.Task) -> dict[str, int]:
        """The node version a placement was judged against, for the commit to compare."""
        version = decision.placed_on.get(t.node) if t.node else None
        return {keys.node_key(t.node): version} if version else {}

    def lost(t: objects_pb2.Task) -> dict[str, int]:
        """A task taken off a node this round declares down: only if its lease is still
        gone (the same check as the node's own write)."""
        return {keys.alive_key(t.node): 0} if t.node in down else {}

    if phase in (Phase.ALL, Phase.TAKE):
        yield from _takes(decision, now_ms, placed, lost)
    if phase in (Phase.ALL, Phase.ADD):
        # A node's new tasks side by side: they go in one transaction (or few), so the
        # node hears of them in one message and reports them in one batch, rather than
        # one task in each of ten transactions that each wake ten other nodes.
        for t in sorted(decision.create_tasks, key=lambda t: t.node):
            k = keys.task_key(t.app, t.meta.id)
            yield _unit(Phase.ADD, t), ({k: 0, **placed(t)}, {k: encode(_unversioned(t))}, [])
    if phase in (Phase.ALL, Phase.REST):
        yield from ((None, w) for w in _rest(decision))


Expects = Callable[[objects_pb2.Task], dict[str, int]]


def _takes(
    decision: Decision, now_ms: int, placed: Expects, lost: Expects
) -> Iterator[tuple[Unit, Write]]:
    for t in sorted(decision.update_tasks, key=lambda t: t.node):  # by node, as creates
        k = keys.task_key(t.app, t.meta.id)
        changed = _unversioned(t)
        changed.meta.updated_ms = now_ms
        yield _unit(Phase.TAKE, t), ({k: t.meta.version, **placed(t), **lost(t)},
                                     {k: encode(changed)}, [])
    for t in sorted(decision.delete_tasks, key=lambda t: t.node):
        k = keys.task_key(t.app, t.meta.id)
        yield _unit(Phase.TAKE, t), ({k: t.meta.version, **lost(t)}, {},
                                     [k, keys.status_key(t.app, t.meta.id)])


def _unit(phase: Phase, task: objects_pb2.Task) -> Unit:
    return (phase, task.node) if task.node else None


def _rest(decision: Decision) -> Iterator[Write]:
    for n in decision.update_nodes:
        k = keys.node_key(n.meta.id)
        expect = {k: n.meta.version}
        if n.state == objects_pb2.NODE_DOWN:
            # The round judged a snapshot: down only if the node's lease is still gone.
            expect[keys.alive_key(n.meta.id)] = 0
        yield expect, {k: encode(_unversioned(n))}, []
    for s in decision.update_services:
        k = keys.service_key(s.app, s.spec.name)
        yield {k: s.meta.version}, {k: encode(_unversioned(s))}, []
    for vol in decision.put_volumes:
        k = keys.volume_key(vol.app, vol.name)
        yield {k: vol.meta.version}, {k: encode(_unversioned(vol))}, []
    for ev in decision.events:
        k, v = event_entry(app=ev.app, kind=ev.kind, obj=ev.object, message=ev.message,
                           now_ms=ev.timestamp_ms)
        yield {}, {k: v}, []


def decision_commits(decision: Decision, *, now_ms: int, phase: Phase = Phase.ALL
                     ) -> Iterator[Commit]:
    """Split a Decision (or one phase of it) into transactions of at most
    OBJECTS_PER_TXN writes and about _BYTES_PER_TXN bytes (one object alone may be
    larger). A node's task writes go into one transaction whenever they fit in one: a
    transaction is closed early rather than cut through a node's tasks. Pure."""
    commit, count, size = Commit(), 0, 0
    for unit in node_units(_writes(decision, now_ms, phase)):
        sizes = [_size(w) for w in unit]
        if count and (count + len(unit) > OBJECTS_PER_TXN
                      or size + sum(sizes) > _BYTES_PER_TXN):
            yield commit
            commit, count, size = Commit(), 0, 0
        for (expect, puts, deletes), more in zip(unit, sizes, strict=True):
            # A unit larger than a whole transaction is cut where it must be.
            if count and size + more > _BYTES_PER_TXN:
                yield commit
                commit, count, size = Commit(), 0, 0
            commit.expect.update(expect)
            commit.puts.update(puts)
            commit.deletes += deletes
            count += 1
            size += more
            if count >= OBJECTS_PER_TXN:
                yield commit
                commit, count, size = Commit(), 0, 0
    if count:
        yield commit


def node_units(writes: Iterable[tuple[Hashable | None, _W]]) -> Iterator[list[_W]]:
    """Consecutive writes of one unit (a node's tasks) together, to go in one transaction:
    the node then hears of them in one session message and reports them in one status
    batch, where a node cut in two transactions does each twice. A write of no unit
    (None) goes alone. Pure."""
    unit: list[_W] = []
    last: Hashable | None = None
    for name, write in writes:
        if unit and (name is None or name != last):
            yield unit
            unit = []
        unit.append(write)
        last = name
    if unit:
        yield unit


def _size(write: Write) -> int:
    _, puts, deletes = write
    return sum(len(k) + len(v) for k, v in puts.items()) + sum(len(k) for k in deletes)


def orphan_commits(orphans: list[tuple[str, str]]) -> Iterator[Commit]:
    """Deletes of the status keys of `orphans` (app, task id), each on condition that the
    task key does not exist, in bounded transactions. Pure."""
    for i in range(0, len(orphans), OBJECTS_PER_TXN):
        chunk = orphans[i:i + OBJECTS_PER_TXN]
        yield Commit(expect={keys.task_key(app, tid): 0 for app, tid in chunk},
                     deletes=[keys.status_key(app, tid) for app, tid in chunk])


def _unversioned(message: _T) -> _T:
    """A copy without its version: versions are etcd's mod revisions, never stored."""
    copy: _T = type(message)()
    copy.CopyFrom(message)
    copy.meta.version = 0
    return copy


def apps_of(commit: Commit) -> set[str]:
    """The apps whose tasks `commit` writes or checks. Pure."""
    return {key[len(keys.TASKS):].partition("/")[0]
            for key in (*commit.expect, *commit.puts, *commit.deletes)
            if key.startswith(keys.TASKS)}

