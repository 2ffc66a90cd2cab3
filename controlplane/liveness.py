"""Node liveness, judged by the replica that holds the node's session.

Heartbeats stay in this replica's memory; etcd hears only of transitions. Each replica
holds one lease (controlplane/store/leases.py: one keep-alive stream, whatever the
number of nodes) and, for every node whose session it holds, the key
`/dockyard/alive/<node>` on that lease, with the session id as its value. Then:

- Register puts the key (certificates.py), on this replica's lease.
- Heartbeats only feed the failure detector (controlplane/detector.py, phi-accrual).
- When the detector finds a node overdue, this replica deletes the key, if it is still
  its own (same session id), and closes the session: a live agent's next heartbeat is
  told to register again. The leader sees the key vanish and marks the node down; the
  leader alone decides node state and moves tasks, as before.
- A graceful leave (the agent stopping on SIGTERM, `Sessions.Leave`) moves the key onto
  a lease of its own with a longer TTL (`--leave-grace`, 30 s by default): the node
  stays ready while its agent restarts, and is declared down only if the agent is not
  back when that lease runs out. The agent's next Register puts the key back on the
  lease of whichever replica it reaches.
- If this replica dies, its lease expires after the grace and every key on it goes:
  the agents have meanwhile registered with another replica (which re-put their keys
  on its lease), and only nodes that did not are marked down. So the result is the
  same with any number of control-plane replicas, and a replica that is not the
  leader can hold sessions.
- A node whose session stream closed without a goodbye is marked unreachable at once,
  `/dockyard/unreachable/<node>` = its session id, on this replica's lease, a host's
  worth in one transaction: the leader places no new task there (the node stays ready
  for its tasks, and is declared by the same bounds as before). The mark goes when the
  node is declared (in the same transaction), heard from again on that session, or
  registers again (a mark of an older session counts for nothing meanwhile), and with
  this replica's lease if the replica dies.
- A busy replica does not blame its nodes: the time its own event loop was stalled
  (a late detector tick) is excused, and heartbeats that queued behind it count when
  they are read; so is the delay of calls waiting to be read at all, as a call the
  replica sends itself measures it (controlplane/selfprobe.py): a node is judged on
  its silence minus how far behind the replica is.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from dockyard.controlplane.api.sessionregistry import SessionRegistry
from dockyard.controlplane.detector import DetectorSettings, FailureDetector, stall_s
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from dockyard.controlplane.store.leases import KeptLease

log = logging.getLogger(__name__)

TICK_S = 0.25
# Lateness of a tick below this is ordinary scheduling noise, not a stall.
_TOLERANCE_S = 0.05
# The least wait before judging the nodes whose stream closed between two ticks.
_CLOSED_WAKE_MIN_S = 0.01
LEAVING = b"leaving "
_MOVES_AT_ONCE = 32  # liveness keys moved to a new lease concurrently
# Liveness keys deleted in one transaction: a compare and a delete each, well inside
# etcd's --max-txn-ops (128).
DECLARED_PER_TXN = 64
# The streams of a host's nodes close within a few milliseconds of each other: their
# marks wait this long to go in one transaction.
_MARK_GATHER_S = 0.02


class NodeLiveness:
    """This replica's sessions' liveness: its lease, the detector, and the transitions."""

    def __init__(self, store: EtcdStore, registry: SessionRegistry, *,
                 settings: DetectorSettings, leave_grace_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = TICK_S,
                 behind_s: Callable[[], float] = lambda: 0.0) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._tick_s = tick_s
        self._behind_s = behind_s
        self.settings = settings
        self.leave_grace_s = leave_grace_s
        self.detector = FailureDetector(settings)
        self.lease = KeptLease(store, ttl_s=math.ceil(settings.grace_s), on_new=self._moved)
        self._sessions: dict[str, str] = {}  # node -> the session id this replica holds
        self.declared_down = 0
        self.stalled_s = 0.0
        self._declaring: set[asyncio.Task[None]] = set()  # declarations being committed
        # node -> the session id its unreachable mark names (written, or on its way).
        self._marked: dict[str, str] = {}
        self._marks_due = asyncio.Event()

    async def lease_id(self) -> int:
        """The lease a Register puts the node's alive key on."""
        return await self.lease.current()

    def registered(self, node: str, session_id: str) -> None:
        """Register committed the node's alive key with `session_id` as its value."""
        self._sessions[node] = session_id
        self.detector.registered(node, self._clock())  # a fresh history
        if node in self._marked:
            self._marks_due.set()  # the mark of its last session goes

    def heard(self, node: str, session_id: str) -> bool:
        """A heartbeat; False when this replica no longer holds that session."""
        if self._sessions.get(node) != session_id:
            return False
        self.detector.heard(node, self._clock())
        if node in self._marked:
            self._marks_due.set()  # heard from again: reachable
        return True

    def disconnected(self, node: str, session_id: str) -> None:
        """The node's session stream closed (its agent's process or host is gone, or
        its connection broke): if the session is still the one held here, its silence
        is judged by the grace alone (controlplane/detector.py). A live agent registers
        again, with a fresh history."""
        if self._sessions.get(node) == session_id:
            self.detector.disconnected(node)
            self._marks_due.set()

    def holds(self, node: str) -> bool:
        return node in self._sessions

    async def leave(self, node: str, session_id: str) -> bool:
        """The node's agent is stopping: keep its alive key for `leave_grace_s` on a
        lease of its own, end the session. False when the session was not this
        replica's (nothing changed)."""
        if self._sessions.get(node) != session_id:
            return False
        key = keys.alive_key(node)
        ttl = max(2, math.ceil(self.leave_grace_s))
        leave_lease = await self._store.grant_lease(ttl)
        ev_key, ev = event_entry(
            app="", kind="node", obj=node, now_ms=typed.now_ms(),
            message=f"agent stopping; its tasks stay for {self.leave_grace_s:g}s")
        kept = await self._store.commit(Commit(
            expect_value={key: session_id.encode()},
            lease_puts={key: (LEAVING + session_id.encode(), leave_lease)},
            puts={ev_key: ev}))
        self._drop(node, session_id)
        log.info("node %s is leaving (its agent stops); down unless back within %gs",
                 node, self.leave_grace_s)
        return bool(kept)

    def _drop(self, node: str, session_id: str) -> None:
        if self._sessions.get(node) == session_id:
            del self._sessions[node]
            self.detector.forget(node)
            if node in self._marked:
                self._marks_due.set()  # its mark goes (if a declaration did not take it)
        self._registry.close(session_id)

    async def run(self) -> None:
        """Hold the lease and judge the nodes until cancelled."""
        keeper = asyncio.create_task(self.lease.run(), name="liveness-lease")
        marker = asyncio.create_task(self._mark_unreachable(), name="liveness-marks")
        try:
            await self._judge()
        finally:
            for task in (keeper, marker, *self._declaring):
                task.cancel()
            await asyncio.gather(keeper, marker, *self._declaring, return_exceptions=True)

    async def _mark_unreachable(self) -> None:
        """Keep the unreachable marks of this replica's sessions as the detector says:
        a node whose stream closed is marked, one heard from again (or gone from here)
        is not. A host's worth at once goes in one transaction."""
        while True:
            await self._marks_due.wait()
            await asyncio.sleep(_MARK_GATHER_S)
            self._marks_due.clear()
            mark, unmark = marks_to_change(self._sessions, self._marked,
                                           self.detector.is_connected)
            try:
                if mark:
                    await self._put_marks(mark)
                if unmark:
                    await self._clear_marks(unmark)
            except StoreUnavailable as exc:
                log.warning("cannot write the unreachable marks of %d nodes: %s",
                            len(mark) + len(unmark), exc)
                await asyncio.sleep(self._tick_s)
                self._marks_due.set()

    async def _put_marks(self, mark: dict[str, str]) -> None:
        lease = await self.lease.current()
        self._marked.update(mark)  # on their way: a heartbeat meanwhile undoes them
        items = sorted(mark.items())
        done = 0
        try:
            for first in range(0, len(items), DECLARED_PER_TXN):
                chunk = items[first:first + DECLARED_PER_TXN]
                if not await self._store.commit(_marking(chunk, lease)):
                    # One of them registered again or was declared meanwhile: each on
                    # its own.
                    for node, sid in chunk:
                        if (not await self._store.commit(_marking([(node, sid)], lease))
                                and self._marked.get(node) == sid):
                            del self._marked[node]
                done = first + len(chunk)
        except StoreUnavailable:
            self._forget_marks(items[done:])  # not written: asked again with the retry
            raise

    async def _clear_marks(self, unmark: dict[str, str]) -> None:
        """Each mark leaves `_marked` only once etcd answered for it (deleted, or naming
        another session by now), so a clear that etcd did not take is asked again."""
        items = sorted(unmark.items())
        for first in range(0, len(items), DECLARED_PER_TXN):
            chunk = items[first:first + DECLARED_PER_TXN]
            if not await self._store.commit(_unmarking(chunk)):
                # Some were gone already (declared): each of the others on its own.
                for one in chunk:
                    await self._store.commit(_unmarking([one]))
            self._forget_marks(chunk)

    def _forget_marks(self, items: list[tuple[str, str]]) -> None:
        for node, sid in items:
            if self._marked.get(node) == sid:
                del self._marked[node]

    async def _judge(self) -> None:
        tick_at = self._clock() + self._tick_s
        while True:
            now = self._clock()
            # A node whose session stream closed (its host lost) and that comes due
            # before the tick is judged at that moment, against the same bounds: the
            # last of a lost host's nodes is not left waiting up to a tick.
            due = self.detector.closed_due_in_s(now, self._behind_s())
            if due is not None and now + due < tick_at:
                await asyncio.sleep(max(due, _CLOSED_WAKE_MIN_S))
                now = self._clock()
                if now < tick_at:
                    behind = self._behind_s()
                    self._declare_gone(self.detector.overdue_closed(now, behind), behind)
                    continue
            else:
                await asyncio.sleep(max(0.0, tick_at - now))
                now = self._clock()
            # The tick's lateness against its schedule is a stall of this replica's
            # event loop. The time the last judgement spent waiting on etcd to declare
            # nodes whose stream closed is not (heartbeats were read meanwhile): excusing
            # it set the clock of every dead node back by each commit before theirs.
            stalled = stall_s(0.0, now - tick_at, tolerance_s=_TOLERANCE_S)
            if stalled:
                self.detector.excuse(stalled)
                self.stalled_s += stalled
            behind = self._behind_s()
            overdue = self.detector.overdue(now, behind)
            # Nodes whose stream closed (a host's worth lost at once) are declared in
            # one transaction per judgement (a few for hundreds), so the leader sees
            # them go in one watch batch and replaces their tasks in one round. The
            # others one after another, as before: each is checked again when its turn
            # comes, and a late heartbeat that came meanwhile saves it (in a storm,
            # declaring hundreds at once would send them all back to register at once).
            # Their commits go on while the judging goes on: the next tick comes on
            # time (a node is dropped from the detector before its commit is sent).
            self._declare_gone([n for n in overdue if not self.detector.is_connected(n)],
                               behind)
            one_by_one = [n for n in overdue if self.detector.is_connected(n)]
            for node in one_by_one:
                await self._declare_safely([node], behind)
            # Nodes declared one by one with their streams open are a storm's path
            # more than a lost host's: there the whole time their commits took still
            # counts as a stall, as before, so a storm's declarations stay as slow as
            # they were.
            if one_by_one:
                spent = stall_s(0.0, self._clock() - now, tolerance_s=_TOLERANCE_S)
                if spent:
                    self.detector.excuse(spent)
                    self.stalled_s += spent
            tick_at = self._clock() + self._tick_s

    def _declare_gone(self, gone: list[str], behind: float) -> None:
        """Declare overdue nodes whose stream closed, DECLARED_PER_TXN to a
        transaction, committed beside the judging."""
        for first in range(0, len(gone), DECLARED_PER_TXN):
            self._in_background(
                self._declare_safely(gone[first:first + DECLARED_PER_TXN], behind))

    def _in_background(self, declaring: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(declaring)
        self._declaring.add(task)
        task.add_done_callback(self._declaring.discard)

    async def _declare_safely(self, nodes: list[str], behind: float) -> None:
        try:
            await self._declare_down(nodes, behind)
        except Exception as exc:  # one node's trouble must not stop the judging
            log.warning("nodes %s: could not declare them down: %s", ", ".join(nodes), exc)

    async def _declare_down(self, nodes: list[str], behind: float = 0.0) -> None:
        """Declare those of `nodes` still overdue: their liveness keys go in one
        transaction, each on condition that it still names the session held here; if
        one of them changed meanwhile (its agent registered with another replica), each
        key on its own."""
        now = self._clock()
        detector = self.detector
        due: list[tuple[str, str, str]] = []  # (node, session id, what to log)
        for node in nodes:
            session_id = self._sessions.get(node)
            if session_id is None:
                detector.forget(node)
                continue
            if not detector.is_overdue(node, now, self._behind_s(), detector.herd_s):
                # Declaring the nodes before it waited on etcd; meanwhile this one was
                # heard from, or registered again (a new session, a fresh history).
                continue
            history = detector.nodes.get(node)
            how = ("its session stream closed" if history is not None
                   and not history.connected else f"the herd {detector.herd_s:.1f}s late")
            due.append((node, session_id, f"no heartbeat for {detector.silence_s(node, now):.1f}s "
                        f"(phi {detector.phi(node, now):.1f}; this replica {behind:.1f}s behind "
                        f"in reading calls; {how})"))
        if not due:
            return
        for node, session_id, _ in due:
            self._drop(node, session_id)
            if self._marked.get(node) == session_id:
                del self._marked[node]  # the declaration clears the mark
        self.declared_down += len(due)
        try:
            if not await self._store.commit(_clearing(due)) and len(due) > 1:
                await asyncio.gather(*(self._store.commit(_clearing([d])) for d in due))
        except StoreUnavailable as exc:
            # The keys stay, but so does this replica's silence toward etcd: the lease
            # lapses on its own within the grace.
            log.warning("cannot clear the liveness keys of %d nodes: %s", len(due), exc)
        for node, _, why in due:
            log.warning("node %s: %s; no longer alive", node, why)

    async def _moved(self, old: int, new: int) -> None:
        """The lease was lost and replaced: put the keys of the sessions still held
        here back, on the new lease, unless another replica holds them by now; a few
        transactions at a time (KeptLease renews the new lease meanwhile)."""
        sessions = list(self._sessions.items())
        self._marked.clear()  # they went with the old lease
        self._marks_due.set()
        for first in range(0, len(sessions), _MOVES_AT_ONCE):
            await asyncio.gather(*(self._move(node, session_id, new) for node, session_id
                                   in sessions[first:first + _MOVES_AT_ONCE]))
        log.info("liveness keys of %d nodes moved from lease %x to %x",
                 len(sessions), old, new)

    async def _move(self, node: str, session_id: str, new: int) -> None:
        key = keys.alive_key(node)
        value = session_id.encode()
        try:
            if not await self._store.commit(Commit(expect_value={key: value},
                                                   lease_puts={key: (value, new)})):
                await self._store.commit(Commit(expect={key: 0},
                                                lease_puts={key: (value, new)}))
        except StoreUnavailable as exc:
            log.warning("node %s: cannot move its liveness key to lease %x: %s",
                        node, new, exc)


def _clearing(due: list[tuple[str, str, str]]) -> Commit:
    """One transaction deleting the liveness keys of `due` (node, session id, ...), each
    only while it still names that session, and their unreachable marks. Pure."""
    return Commit(expect_value={keys.alive_key(node): sid.encode() for node, sid, _ in due},
                  deletes=[k for node, _, _ in due
                           for k in (keys.alive_key(node), keys.unreachable_key(node))])


def marks_to_change(sessions: dict[str, str], marked: dict[str, str],
                    connected: Callable[[str], bool]
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """(node -> session id) to mark unreachable (a session held here whose stream
    closed, not yet marked) and to unmark (a mark of a session heard from again, or no
    longer held here). Pure."""
    want = {node: sid for node, sid in sessions.items() if not connected(node)}
    mark = {node: sid for node, sid in want.items() if marked.get(node) != sid}
    unmark = {node: sid for node, sid in marked.items() if want.get(node) != sid}
    return mark, unmark


def _marking(chunk: list[tuple[str, str]], lease: int) -> Commit:
    """Marks of (node, session id), each only while the node's liveness key still
    names that session, on this replica's lease. Pure."""
    return Commit(expect_value={keys.alive_key(node): sid.encode() for node, sid in chunk},
                  lease_puts={keys.unreachable_key(node): (sid.encode(), lease)
                              for node, sid in chunk})


def _unmarking(chunk: list[tuple[str, str]]) -> Commit:
    """Deletes of the marks of (node, session id), each only while it names that
    session (another replica may have marked the node's next session). Pure."""
    return Commit(expect_value={keys.unreachable_key(node): sid.encode()
                                for node, sid in chunk},
                  deletes=[keys.unreachable_key(node) for node, _ in chunk])
