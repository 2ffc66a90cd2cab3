"""The leader's loop: run a reconcile round after each change, then commit its Decision.

Rounds are level-triggered and debounced: a burst of watch events wakes one round. A
Decision is committed in transactions of bounded size (in objects and in bytes, inside
etcd's limits), each checking the version of every object it overwrites or deletes
(controlplane/commits.py), so a round that raced with another writer changes nothing
stale; the next round sees the new state and decides again. A round creates a bounded
number of tasks; when it stopped short (`Decision.unfinished`) the next round follows
at once, and between rounds and transactions the event loop serves reads, health
checks and deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from dockyard.controlplane.commits import (
    OBJECTS_PER_TXN,
    Phase,
    apps_of,
    decision_commits,
    orphan_commits,
)
from dockyard.controlplane.events import EventBudget, events_to_trim
from dockyard.controlplane.lostwrites import LOST_COMMITS_IN_FLIGHT, lost_commits
from dockyard.controlplane.metrics import PLACEMENT_SECONDS, RECONCILE_SECONDS
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.lost import echoed, lost_nodes, lost_round_fits, plan_lost
from dockyard.controlplane.reconcile.nodes import changing_nodes
from dockyard.controlplane.reconcile.quiet import RestingApps, quiet_pause_s, wakes_leader
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from dockyard.controlplane.view import Touched, snapshot
from dockyard.v1 import objects_pb2

log = logging.getLogger(__name__)

_TRIM_EVERY_S = 10.0
FULL_ROUND_EVERY_S = 5.0
# How long a round waits for the mirror to show this leader's own last writes.
_CATCH_UP_S = 2.0
# Task ids of lost-node rounds kept to tell their echo from news (cleared by each round
# of everything, or past this many).
_ECHO_MAX = 100_000
REST_MAX_S = 0.5
# Transactions of one part of a Decision (commits.Phase) sent to etcd at once.
COMMITS_IN_FLIGHT = 4


def new_task_id() -> str:
    return secrets.token_hex(6)


class Leader:
    """Runs rounds against a Mirror's view while this replica leads."""

    def __init__(
        self, store: EtcdStore, mirror: Mirror, *, debounce_s: float = 0.02,
        node_grace_s: float = 4.0,
    ) -> None:
        self._store = store
        self._node_grace_s = node_grace_s
        self._since = 0.0
        self._debounce_s = debounce_s
        self._dirty = asyncio.Event()
        # A node this leader will mark down (its liveness key went): the next round
        # follows without the rest, since its tasks are to be replaced.
        self._lost = asyncio.Event()
        # News other than task statuses (apps, services, tasks, volumes, nodes; a
        # service write of its counts alone is not), or statuses of an app not at rest.
        self._news = asyncio.Event()
        self._round_end = 0.0
        self.mirror = mirror
        # What changed since the last round: the apps and nodes to look at, or everything.
        self._dirty_apps: set[str] = set()
        # Apps that heard only of task statuses: their round is cheap when at rest.
        self._quiet_apps: set[str] = set()
        # Apps the last round that looked at them found at rest: only their statuses
        # wait for `_quiet_pause`; another app's status (a gate to open, an update's
        # next batch) is news.
        self._at_rest = RestingApps()
        self._dirty_nodes: set[str] = set()
        self._dirty_all = True
        self._last_full = 0.0
        mirror.subscribe_touched(self._changed)
        self.rounds = 0
        self.full_rounds = 0
        self._written = 0  # the revision of this leader's latest successful commit
        self._round_s = 0.0  # how long the last round computed
        # The tasks lost-node rounds wrote (id -> app): their echo is not news.
        self._echo: dict[str, str] = {}

    def _changed(self, touched: Touched, reloaded: bool) -> None:
        if not wakes_leader(touched, reloaded=reloaded):
            return  # unreachable marks alone: nothing a round would decide changed
        structure = touched.structure - echoed(touched, self._echo)
        echo = touched.structure - structure  # the leader's own lost-round writes
        self._dirty_apps |= structure
        # A service's counts written alone (this leader's own write) need no round.
        self._quiet_apps |= (touched.statuses | echo) - structure
        self._dirty_nodes |= touched.node_objects  # its tasks, and tasks waiting for room
        if lost_nodes(self.mirror.view, touched.node_objects):
            self._lost.set()
        if reloaded:
            self._dirty_all = True
        view = self.mirror.view
        complete = [app for app in touched.statuses if view.all_running(app)]
        if self._at_rest.news(touched, reloaded=reloaded, echo=echo, complete=complete):
            self._news.set()
        self._dirty.set()

    def poke(self) -> None:
        """A round soon (the watch names the apps that changed)."""
        self._dirty.set()

    async def run(self) -> None:
        """Lead until cancelled. Nodes are judged only after one grace as leader: a new
        leader first lets agents that lost their leases during the handover re-register."""
        self._since = time.monotonic()
        self._dirty.set()
        next_trim = self._since + _TRIM_EVERY_S
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), timeout=1.0)
            except TimeoutError:
                pass  # a periodic round catches what no event announced (lease expiry)
            # A round holds the GIL while it computes: after a long one, rest as long
            # (at most REST_MAX_S), so sessions, heartbeats and leases keep their share;
            # but not while a lost node's tasks wait for their replacements.
            await self._rest(max(self._debounce_s, min(self._round_s, REST_MAX_S)))
            await self._quiet_pause()
            self._dirty.clear()
            self._lost.clear()
            if not self.mirror.synced.is_set():
                continue
            if not await self._caught_up():
                self._dirty.set()
                continue
            try:
                self._news.clear()
                await self._round()
                self._round_end = time.monotonic()
                if time.monotonic() >= next_trim:
                    next_trim = time.monotonic() + _TRIM_EVERY_S
                    await self._trim_events()
                    await self._drop_orphaned_statuses()
            except StoreUnavailable as exc:
                # Part of its writes may be in etcd, and a lost-node round's are not news
                # (its echo): the next round looks at everything, from fresh state.
                log.warning("round failed: %s", exc)
                self._dirty_all = True
                self._dirty.set()
                await asyncio.sleep(0.5)

    async def _rest(self, seconds: float) -> None:
        """Sleep `seconds`, or only the debounce once a node is lost."""
        if not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=seconds)
        await asyncio.sleep(self._debounce_s)

    async def _quiet_pause(self) -> None:
        """While only statuses came since the last round, wait until `quiet_pause_s` after
        it ended (or until other news comes)."""
        wait = self._round_end + quiet_pause_s(self._round_s) - time.monotonic()
        if wait <= 0 or self._news.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), timeout=wait)

    async def _trim_events(self) -> None:
        """Keep the newest events within their budget; drop those of apps that are gone."""
        entries, _ = await self._store.get_prefix(keys.EVENTS)
        doomed = events_to_trim(((e.key, len(e.key) + len(e.value)) for e in entries),
                                live_apps=self.mirror.view.apps.keys(), budget=EventBudget())
        for i in range(0, len(doomed), OBJECTS_PER_TXN):
            await self._store.commit(Commit(deletes=doomed[i:i + OBJECTS_PER_TXN]))

    async def _drop_orphaned_statuses(self) -> None:
        """Delete status keys whose task is gone (each only while its task stays gone)."""
        for commit in orphan_commits(self.mirror.view.orphaned_statuses()):
            await self._store.commit(commit)

    def _take_dirty(self, *, judge: bool) -> tuple[set[str] | None, set[str]]:
        """The apps this round looks at, or None for all (after a reload, and every
        FULL_ROUND_EVERY_S as a safety net for anything the changes did not name); and
        the apps that heard only of task statuses (`plan_round`'s `quiet`).

        A node that changed, or that this round will mark ready or down, brings the apps
        of its tasks, and the apps with tasks waiting for a node (it may have room now):
        a thousand nodes joining cost a thousand small rounds, not a thousand full ones."""
        full = self._dirty_all or time.monotonic() - self._last_full >= FULL_ROUND_EVERY_S
        view = self.mirror.view
        apps: set[str] | None = None
        if not full:
            nodes = self._dirty_nodes | changing_nodes(view.nodes, view.alive,
                                                       mark_down=judge)
            apps = set(self._dirty_apps)
            for node in nodes:
                apps |= view.apps_on(node)
            if nodes:
                apps |= view.apps_waiting()
        quiet = set() if apps is None else self._quiet_apps - apps
        self._dirty_apps, self._dirty_nodes, self._dirty_all = set(), set(), False
        self._quiet_apps = set()
        if full:
            self._last_full = time.monotonic()
            self.full_rounds += 1
            self._echo.clear()
        return apps, quiet

    async def _round(self) -> None:
        now = int(time.time() * 1000)
        judge = time.monotonic() - self._since >= self._node_grace_s
        if judge and lost_round_fits(self.mirror.view, self._dirty_nodes, full=bool(
                self._dirty_all or self._dirty_apps)):
            lost = await self._lost_round(now)
            if lost is not None:
                await self._commit_decision(lost, now, lost=True)
                return
        apps, quiet = self._take_dirty(judge=judge)
        # The round is pure and grows with the cluster: it runs in a worker thread over a
        # snapshot, so the event loop keeps serving gRPC, /healthz and the watch meanwhile.
        started = time.perf_counter()
        decision = await asyncio.to_thread(
            plan_round, snapshot(self.mirror.view, None if apps is None else apps | quiet),
            now_ms=now, new_id=new_task_id, judge_nodes=judge, apps=apps, quiet=quiet)
        self._planned(decision, started)
        # Apps whose structure changed while the round ran are not at rest, whatever
        # its snapshot said (they are in `_dirty_apps` again for the next round).
        self._at_rest.after_round(apps=apps, quiet=quiet, found=decision.at_rest,
                                  changed_since=self._dirty_apps)
        if decision.empty() and not decision.events:
            return
        if decision.unfinished:
            # More tasks to create: another round right after this one, of the same apps.
            self._round_again(apps)
        await self._commit_decision(decision, now)

    async def _lost_round(self, now: int) -> Decision | None:
        """A round for the nodes whose liveness key went, and nothing else
        (reconcile/lost.py), or None when a full round must decide. Their tasks' apps
        hear of the writes as an echo, not as news (`echoed`)."""
        view = self.mirror.view
        downs = changing_nodes(view.nodes, view.alive)
        apps = {app for node in downs for app in view.apps_on(node)}
        snap = snapshot(view, apps)
        snap.by_node = {node: dict(view.by_node.get(node, {})) for node in downs}
        taken, self._dirty_nodes = self._dirty_nodes, set()
        started = time.perf_counter()
        decision = await asyncio.to_thread(plan_lost, snap, now_ms=now, new_id=new_task_id)
        if decision is None:
            self._dirty_nodes |= taken
            return None
        self._planned(decision, started)
        if len(self._echo) > _ECHO_MAX:
            self._echo.clear()
        self._echo.update((t.meta.id, t.app)
                          for t in (*decision.create_tasks, *decision.delete_tasks))
        return decision

    def _planned(self, decision: Decision, started: float) -> None:
        """A round planned from `started` (perf_counter): its time and count."""
        self._round_s = time.perf_counter() - started
        RECONCILE_SECONDS.observe(self._round_s)
        if decision.placement_s:
            PLACEMENT_SECONDS.observe(decision.placement_s)
        self.rounds += 1

    async def _commit_decision(self, decision: Decision, now: int, *, lost: bool = False
                               ) -> None:
        """Commit a round's Decision: what it takes away first, then what it adds, then
        the rest; a lost-node round's, one transaction per lost node, all at once
        (controlplane/lostwrites.py)."""
        down = sum(1 for n in decision.update_nodes if n.state == objects_pb2.NODE_DOWN)
        if down:
            log.info("round %d%s: %d nodes down, %d tasks taken off, %d created; planned in "
                     "%.2fs", self.rounds, " (lost nodes alone)" if lost else "", down,
                     len(decision.delete_tasks) + len(decision.update_tasks),
                     len(decision.create_tasks), self._round_s)
        at_once = lost_commits(decision, now_ms=now) if lost else None
        if at_once is not None:
            # A lost node that came back (or whose tasks changed) meanwhile: its
            # transaction changed nothing, and the next round decides from fresh state.
            failed = await self._commit_all(at_once, in_flight=LOST_COMMITS_IN_FLIGHT)
            if failed:
                self._round_again(failed)
            return
        failed = await self._commit_all(
            list(decision_commits(decision, now_ms=now, phase=Phase.TAKE)))
        if failed:
            # A task this round meant to take away is still there (its node came back, or
            # someone else changed it): its replacement must not run beside it. Those
            # apps' new tasks wait for the next round, which decides from fresh state.
            decision.create_tasks = [t for t in decision.create_tasks if t.app not in failed]
            self._round_again(failed)
        for phase in (Phase.ADD, Phase.REST):
            await self._commit_all(list(decision_commits(decision, now_ms=now, phase=phase)))

    def _round_again(self, apps: set[str] | None) -> None:
        """Another round soon, of `apps` (None: of everything), as news."""
        if apps is None:
            self._dirty_all = True
        else:
            self._dirty_apps |= apps
        self._news.set()
        self._dirty.set()

    async def _caught_up(self) -> bool:
        """Whether the mirror has seen this leader's last writes; waits a little for it.
        A round decided from a view without them would create again the tasks the last
        round created (a second task for one slot)."""
        if await self.mirror.caught_up(self._written, timeout_s=_CATCH_UP_S):
            return True
        log.info("the view is behind this leader's writes (revision %d < %d); the round "
                 "waits", self.mirror.view.revision, self._written)
        return False

    async def _commit_all(self, commits: list[Commit], *, in_flight: int = COMMITS_IN_FLIGHT
                          ) -> set[str]:
        """Commit transactions that touch different objects, `in_flight` at once (etcd
        serves concurrent transactions several times faster than one after another).
        Returns the apps whose task writes failed an expectation."""
        gate = asyncio.Semaphore(in_flight)
        failed: set[str] = set()

        async def one(commit: Commit) -> None:
            async with gate:
                revision = await self._store.commit_at(commit)
                if revision is None:
                    failed.update(apps_of(commit))
                    log.info("a commit of round %d met a newer write; next round decides "
                             "again", self.rounds)
                else:
                    self._written = max(self._written, revision)

        # Every commit settles before an error goes up: a round planned while one of
        # these is still in flight could place a slot's task a second time.
        results = await asyncio.gather(*(one(c) for c in commits), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return failed

