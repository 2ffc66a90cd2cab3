"""Leader election through etcd: one replica runs the reconcilers and the scheduler.

A replica campaigns by creating `/dockyard/cluster/leader` on a lease of its own, in a
transaction that succeeds only if the key does not exist. The winner keeps its lease
alive; if it dies, etcd expires the lease within its TTL, the key vanishes, and another
replica's campaign succeeds. Every replica serves reads and agent sessions either way.

A clean stop cancels `run`: the leader's work ends first, then the lease is revoked,
which deletes the key, so another replica may lead at once and never while this one
still does (deleting the key while still leading would allow two leaders for a moment).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable

log = logging.getLogger("dockyard.election")

LEADER_KEY = keys.cluster_key("leader")


class Election:
    def __init__(self, store: EtcdStore, *, replica: str, ttl_s: int = 3) -> None:
        self._store = store
        self.replica = replica or socket.gethostname()
        self._ttl = max(2, ttl_s)
        self.is_leader = False

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Campaign forever; while leading, run `lead()` (cancelled when leadership ends)."""
        while True:
            try:
                lease = await self._store.grant_lease(self._ttl)
                won = await self._store.commit(
                    Commit(expect={LEADER_KEY: 0},
                           lease_puts={LEADER_KEY: (self.replica.encode(), lease)})
                )
                if not won:
                    await self._store.revoke_lease(lease)
                    await asyncio.sleep(self._ttl / 3)
                    continue
                log.info("%s is the leader", self.replica)
                self.is_leader = True
                await self._lead_while_held(lease, lead)
            except StoreUnavailable as exc:
                log.warning("election: %s", exc)
                await asyncio.sleep(0.5)
            finally:
                if self.is_leader:
                    log.info("%s is no longer the leader", self.replica)
                self.is_leader = False

    async def _lead_while_held(
        self, lease: int, lead: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        work = asyncio.create_task(lead())
        try:
            while not work.done():
                await asyncio.sleep(self._ttl / 3)
                if await self._store.refresh_lease(lease) <= 0:
                    return  # the lease expired: someone else may lead now
        finally:
            work.cancel()
            ended = await asyncio.gather(work, return_exceptions=True)
            if isinstance(ended[0], Exception):  # a bug: say so rather than lead again
                log.error("the leader's work failed: %r", ended[0], exc_info=ended[0])
            try:
                await self._store.revoke_lease(lease)
            except StoreUnavailable:
                pass
