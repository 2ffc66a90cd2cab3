"""One etcd lease kept alive over one long-lived LeaseKeepAlive stream.

etcd's keep-alive is a bidirectional stream meant to stay open: the client writes the
lease id whenever it wants the TTL renewed and reads the new TTL back. aetcd's
`refresh_lease` opens a new stream for every renewal, which cost the server about 2 ms
of CPU each; at one renewal per node per second, 1,000 nodes filled a core. A replica
now holds a single lease for all the nodes whose sessions it serves
(controlplane/liveness.py), renewed here on one stream a few times per TTL: the cost
no longer grows with the number of nodes.

When the lease is lost (etcd answers TTL 0: it expired while the stream was down, or
etcd lost it), a new one is granted and `on_new(old, new)` lets the owner move its keys
onto it. A broken stream is reopened on whatever etcd endpoint the store is on by then,
after a read through the store that moves it off a member that died with the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import grpc
from aetcd import rpc

from dockyard.controlplane.store.etcd import EtcdStore, StoreUnavailable

log = logging.getLogger(__name__)

_RETRY_S = 0.5


class LeaseLost(Exception):
    """etcd no longer knows the lease."""


class KeptLease:
    """A lease of `ttl_s` seconds, renewed every `ttl_s / renewals` seconds."""

    def __init__(self, store: EtcdStore, *, ttl_s: int, renewals: int = 4,
                 on_new: Callable[[int, int], Coroutine[Any, Any, None]] | None = None) -> None:
        self._store = store
        self.ttl_s = max(2, int(ttl_s))
        self._every_s = self.ttl_s / max(2, renewals)
        self._on_new = on_new
        self.id = 0
        self.ready = asyncio.Event()
        self.renewed_at = 0.0  # time.monotonic() of the last renewal etcd confirmed
        self.renewals = 0  # confirmed renewals, for tests and metrics
        self.streams = 0  # keep-alive streams opened
        self._lost = 0  # a lost lease whose keys still have to move to the next one

    async def current(self, wait_s: float = 5.0) -> int:
        """The lease id, waiting up to `wait_s` for one; StoreUnavailable if none."""
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), timeout=wait_s)
            except TimeoutError:
                raise StoreUnavailable("no liveness lease from etcd yet") from None
        return self.id

    async def run(self) -> None:
        """Hold the lease until cancelled; never returns, and no etcd trouble ends it."""
        moving: asyncio.Task[None] | None = None
        try:
            while True:
                moving = await self._hold(moving)
        finally:
            if moving is not None:
                moving.cancel()
                await asyncio.gather(moving, return_exceptions=True)

    async def _hold(self, moving: asyncio.Task[None] | None) -> asyncio.Task[None] | None:
        """Grant a lease if there is none and keep it until it is lost or the stream
        breaks. The owner moves its keys onto a new lease (`on_new`) while this keeps
        renewing it: moving a few hundred keys one transaction each can take longer than
        the TTL on a loaded machine, and a lease not renewed meanwhile was lost again
        before the move ended (seen at 1,000 nodes, over and over)."""
        try:
            if not self.id:
                await self._grant()
                if self._lost and self._on_new is not None:
                    if moving is not None and not moving.done():
                        moving.cancel()  # that lease is gone too: move to this one
                    moving = asyncio.create_task(self._on_new(self._lost, self.id),
                                                 name="liveness-keys-move")
                self._lost = 0
            await self._keep(self.id)
        except LeaseLost:
            log.warning("liveness lease %x was lost; granting a new one", self.id)
            self.ready.clear()
            self._lost, self.id = self.id, 0
        except (StoreUnavailable, rpc.AioRpcError, ConnectionError) as exc:
            detail = exc.details() if isinstance(exc, rpc.AioRpcError) else str(exc)
            log.warning("liveness lease keep-alive: %s; retrying", detail)
            await asyncio.sleep(_RETRY_S)
            await self._reach_etcd()
        except Exception:  # a keeper that ends lets the lease expire: log, go on
            log.exception("liveness lease keep-alive failed; retrying")
            await asyncio.sleep(_RETRY_S)
        return moving

    async def _reach_etcd(self) -> None:
        """One read through the store, which moves it to another endpoint when its
        member no longer answers (the stream is opened on the store's client as is)."""
        try:
            await self._store.ping()
        except StoreUnavailable as exc:
            log.warning("liveness lease: %s", exc)

    async def _grant(self) -> None:
        self.id = await self._store.grant_lease(self.ttl_s)
        self.renewed_at = time.monotonic()
        self.ready.set()

    async def _keep(self, lease_id: int) -> None:
        """Renew `lease_id` on one stream until it is lost (LeaseLost) or the stream
        breaks (an rpc error)."""
        client = self._store.client
        call = client.leasestub.LeaseKeepAlive(metadata=client.metadata)
        self.streams += 1
        try:
            while True:
                try:
                    await call.write(rpc.LeaseKeepAliveRequest(ID=lease_id))
                except asyncio.InvalidStateError:  # the stream ended while we slept
                    raise ConnectionError("the keep-alive stream ended") from None
                reply = await asyncio.wait_for(call.read(), timeout=self.ttl_s)
                if reply is grpc.aio.EOF:
                    raise ConnectionError("etcd closed the keep-alive stream")
                if int(reply.TTL) <= 0:
                    raise LeaseLost()
                self.renewed_at = time.monotonic()
                self.renewals += 1
                await asyncio.sleep(self._every_s)
        except TimeoutError:
            raise ConnectionError("etcd did not answer a lease renewal in time") from None
        finally:
            call.cancel()

