"""Task statuses from every session on this replica, written to etcd together.

Each agent sends its node's statuses in one batch (agent/session.py); at a thousand nodes
starting ten thousand containers that is a thousand calls in a few seconds. Written one
transaction per call, etcd, the server's etcd client and the mirror each paid per call
(a thousand transactions, a thousand watch responses). Here the calls that arrive while
a write is under way wait for it to end and then go out together, in transactions of
up to `per_txn` statuses (group commit): the busier the server, the bigger the groups,
and a quiet server still writes a lone status at once. A call is answered only when its
statuses are in etcd, as before.

Each status is written only if its task still exists, so no status outlives its task;
a transaction that fails that check is split in halves until only the statuses of the
deleted tasks are left out. The last report
of a task wins, within a group and across groups (they go out one after another).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from dockyard.controlplane.store.etcd import Commit, EtcdStore

STATUS_PER_TXN = 100  # well inside etcd's --max-txn-ops (128)
# A group's transactions touch different keys: they go to etcd at once, a few at a
# time. On a busy server each one waits its turn on the event loop for its answer, and
# the statuses written a second are about STATUS_PER_TXN * COMMITS_IN_FLIGHT over that
# wait: at 4 and a wait of 0.2 s, 2,000 a second, while a leader's round of 10,000 new
# tasks sends ten thousand statuses within two or three seconds.
COMMITS_IN_FLIGHT = 16
# Statuses waiting to be written, at most: a call that would take the queue past it is
# refused at once (RESOURCE_EXHAUSTED, with a wait), before any work is done for it.
# One round creates up to 10,000 tasks (rules.TASKS_CREATED_PER_ROUND), whose statuses
# come within a few seconds: refused at 5,000, the rest waited seconds to come again.
STATUS_BACKLOG = 10_000
# A call with less than this left of its deadline when its handler starts has waited
# almost all of it in gRPC's queue: its answer would come too late, and its sender
# would send it again. It is refused instead of written.
MIN_LEFT_S = 0.5
# What a refusal asks the agent to wait at least, and at most.
SHED_WAIT_S = (0.5, 5.0)

Write = tuple[str, str, bytes]  # (task key, status key, encoded status)


def status_commits(writes: Iterable[Write], *, per_txn: int = STATUS_PER_TXN) -> list[Commit]:
    """Status writes in transactions of at most `per_txn`, each written only if its task
    still exists (a status never outlives its task). The last report of a task wins.
    Pure."""
    latest = {status_key: (task_key, value) for task_key, status_key, value in writes}
    items = list(latest.items())
    return [Commit(puts={sk: v for sk, (_, v) in chunk},
                   exists=[tk for _, (tk, _) in chunk])
            for chunk in (items[i:i + per_txn] for i in range(0, len(items), per_txn))]


def shed_wait_s(backlog: int, incoming: int, left_s: float | None, rate_per_s: float,
                *, limit: int = STATUS_BACKLOG) -> float:
    """0 to take a status call of `incoming` statuses; otherwise the seconds its sender
    should wait before sending it again. Refused: a call whose deadline is all but spent
    (`left_s` under MIN_LEFT_S: it waited in gRPC's queue, its answer would be too late),
    and a call that would take the statuses waiting to be written (`backlog`) past
    `limit` (a bounded queue: the server answers "later" at once instead of queueing
    work it cannot finish within the callers' deadlines). The wait is how long the
    backlog takes at the rate the writer last managed, within SHED_WAIT_S. A call is
    always taken when nothing waits, whatever its size. Pure."""
    low, high = SHED_WAIT_S
    if left_s is not None and left_s < MIN_LEFT_S:
        return low
    if backlog > 0 and backlog + incoming > limit:
        return min(high, max(low, backlog / max(rate_per_s, 1.0)))
    return 0.0


def writes_of(commit: Commit) -> list[Write]:
    """The status writes of a commit made by `status_commits`, back. Pure."""
    return [(tk, sk, v) for tk, (sk, v) in zip(commit.exists, commit.puts.items(), strict=True)]


class StatusWriter:
    """Group commit of status writes: one writer at a time, fed by every caller."""

    def __init__(self, store: EtcdStore, *, per_txn: int = STATUS_PER_TXN) -> None:
        self._store = store
        self._per_txn = per_txn
        self._pending: list[tuple[list[Write], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # groups written (for tests and the curious)
        self.backlog = 0  # statuses handed to `write` and not yet written (or failed)
        self.rate_per_s = 1000.0  # statuses a second the last group was written at

    async def write(self, writes: list[Write]) -> None:
        """Write `writes` with whatever else is waiting; returns once they are in etcd.
        Raises StoreUnavailable (or what the store raised) when they could not be."""
        if not writes:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a caller cancelled meanwhile logs nothing
        self._pending.append((writes, done))
        self.backlog += len(writes)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        """Write what is waiting, group after group, until nothing is."""
        while self._pending:
            group, self._pending = self._pending, []
            self.groups += 1
            flat = [w for writes, _ in group for w in writes]
            started = time.monotonic()
            try:
                await self._write_group(flat)
            except Exception as exc:  # every caller of the group hears it
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            finally:
                self.backlog -= len(flat)
            self.rate_per_s = len(flat) / max(time.monotonic() - started, 1e-3)
            for _, done in group:
                if not done.done():
                    done.set_result(None)

    async def _write_group(self, writes: list[Write]) -> None:
        gate = asyncio.Semaphore(COMMITS_IN_FLIGHT)

        async def one(commit: Commit) -> None:
            async with gate:
                await self._commit_or_split(commit)

        await asyncio.gather(*(one(c) for c in status_commits(writes, per_txn=self._per_txn)))

    async def _commit_or_split(self, commit: Commit) -> None:
        """A transaction that fails because a task of it was deleted meanwhile is split
        in halves, and so on down to the statuses of the tasks that are gone (dropped):
        the others land, in a few transactions rather than one each."""
        if await self._store.commit(commit):
            return
        writes = writes_of(commit)
        if len(writes) > 1:
            half = (len(writes) + 1) // 2
            for part in (writes[:half], writes[half:]):
                for c in status_commits(part, per_txn=len(part)):
                    await self._commit_or_split(c)


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()
