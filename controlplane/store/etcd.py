"""The one place that performs etcd I/O, through the maintained asyncio client `aetcd`.

Everything above this module speaks in keys (str), values (bytes) and mod revisions
(int). A write is a `Commit`: compares plus puts and deletes, applied as one etcd
transaction, so an apply is all or nothing and a stale write is refused, never
half-applied.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aetcd
import aetcd.exceptions

from dockyard.controlplane.store.client import Client, ClientTls, PageTooLarge

# Keys per page of a range read; halved while a page exceeds the client's message limit.
PAGE_KEYS = 512
_PING_KEY = b"/dockyard/cluster/ping"  # never written: reading it costs etcd nothing


class StoreUnavailable(Exception):
    """etcd could not be reached; the message says where."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One key as read: its value and the revision that last changed it."""

    key: str
    value: bytes
    mod_revision: int
    lease: int = 0


@dataclass(slots=True)
class Commit:
    """A transaction: every `expect` must hold, then every put and delete applies.

    `expect` maps a key to the mod revision it must still have; 0 means "must not exist".
    `expect_value` maps a key to the value it must still hold (a missing key fails it):
    a replica changes a node's liveness key only while it is still its own.
    `exists` lists keys that must exist, whatever their revision.
    `unchanged_since` maps a prefix to a revision: no key under it may have been created
    or changed after that revision (a check made on a read at that revision still holds
    when the commit applies). Deletes under the prefix do not count.
    """

    expect: dict[str, int] = field(default_factory=dict)
    puts: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    lease_puts: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    expect_value: dict[str, bytes] = field(default_factory=dict)
    exists: list[str] = field(default_factory=list)
    unchanged_since: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A change seen by a watch: `value` is None for a delete."""

    key: str
    value: bytes | None
    mod_revision: int


def _parse_endpoint(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host:
        return rest, 2379
    return host.strip("[]"), int(port)


class EtcdStore:
    """A connection to an etcd cluster, tried endpoint by endpoint."""

    def __init__(self, endpoints: Sequence[str], *, timeout_s: float = 5.0,
                 tls: ClientTls | None = None) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoint given")
        self._endpoints = [_parse_endpoint(e) for e in endpoints]
        self._timeout_s = timeout_s
        self._tls = tls
        self._client: Client | None = None
        self._next = 0
        self._reconnecting = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()

    @property
    def endpoints(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self._endpoints)

    async def connect(self, *, wait_s: float = 10.0) -> None:
        """Connect to the first endpoint that answers, waiting up to `wait_s` in all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        last: Exception | None = None
        while True:
            host, port = self._endpoints[self._next % len(self._endpoints)]
            self._next += 1
            client = Client(host=host, port=port, timeout=self._timeout_s, tls=self._tls)
            try:
                await client.connect()
                await client.get(_PING_KEY)
            except Exception as exc:  # any failure means: try the next endpoint
                last = exc
                await client.close()
                if loop.time() >= deadline:
                    raise StoreUnavailable(
                        f"etcd unreachable at {self.endpoints}: {_short(last)}"
                    ) from None
                await asyncio.sleep(0.2)
                continue
            self._client = client
            return

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise StoreUnavailable("not connected to etcd")
        return self._client

    async def ping(self) -> None:
        """One cheap read: on an endpoint that no longer answers, the store moves to the
        next (StoreUnavailable when none answers)."""
        await self._call(lambda c: c.get(_PING_KEY))

    async def get(self, key: str) -> Entry | None:
        got = await self._call(lambda c: c.get(key.encode()))
        if got is None:
            return None
        return Entry(key, bytes(got.value), int(got.mod_revision), int(got.lease))

    async def get_prefix(self, prefix: str, *, revision: int = 0) -> tuple[list[Entry], int]:
        """Every key under `prefix`, and the store revision the read saw."""
        return await self.get_range(prefix, prefix_end(prefix), revision=revision)

    async def get_range(self, start: str, end: str, *,
                        revision: int = 0) -> tuple[list[Entry], int]:
        """Every key in [start, end) and the revision read at, whatever their total size.

        Read in pages of at most PAGE_KEYS keys (fewer while a page exceeds the client's
        message limit), each continuing after the last key of the one before, all at one
        revision: the first page's, or `revision` if given. So the result is one
        consistent snapshot, and a watch from revision + 1 misses nothing.
        """
        entries: list[Entry] = []
        key, stop = start.encode(), end.encode()
        limit = PAGE_KEYS
        while True:
            try:
                page = await self._call(functools.partial(
                    _range_page, key=key, end=stop, limit=limit, revision=revision))
            except PageTooLarge as exc:
                if limit == 1:
                    raise StoreUnavailable(f"etcd at {self.endpoints}: one key under "
                                           f"{key.decode(errors='replace')!r} is too large: "
                                           f"{_short(exc)}") from None
                limit = max(1, limit // 2)
                continue
            revision = revision or int(page.header.revision)
            entries += [
                Entry(kv.key.decode(), bytes(kv.value), int(kv.mod_revision), int(kv.lease))
                for kv in page.kvs
            ]
            if not page.more or not page.kvs:
                return entries, revision
            key = bytes(page.kvs[-1].key) + b"\0"

    async def commit(self, commit: Commit) -> bool:
        """Apply `commit` as one transaction. False when an expectation failed."""
        return await self.commit_at(commit) is not None

    async def commit_at(self, commit: Commit) -> int | None:
        """Apply `commit` as one transaction; the revision it was written at (0 for a
        transaction with no writes), or None when an expectation failed. A caller that
        must read its own writes waits for its mirror to reach that revision."""
        tx = self.client.transactions
        compares: list[Any] = []
        for key, rev in commit.expect.items():
            if rev == 0:
                compares.append(tx.version(key.encode()) == 0)
            else:
                compares.append(tx.mod(key.encode()) == rev)
        compares += [tx.value(k.encode()) == v for k, v in commit.expect_value.items()]
        compares += [tx.version(key.encode()) > 0 for key in commit.exists]
        compares += [tx.mod(prefix.encode(), prefix_end(prefix).encode()) < revision + 1
                     for prefix, revision in commit.unchanged_since.items()]
        ops: list[Any] = [tx.put(k.encode(), v) for k, v in commit.puts.items()]
        ops += [tx.put(k.encode(), v, lease=lid) for k, (v, lid) in commit.lease_puts.items()]
        ops += [tx.delete(k.encode()) for k in commit.deletes]
        succeeded, responses = await self._call(
            lambda c: c.transaction(compare=compares, success=ops, failure=[])
        )
        if not succeeded:
            return None
        return written_at(responses)

    async def put(self, key: str, value: bytes) -> None:
        await self._call(lambda c: c.put(key.encode(), value))


    async def grant_lease(self, ttl_s: int) -> int:
        lease = await self._call(lambda c: c.lease(ttl_s))
        return int(lease.id)

    async def refresh_lease(self, lease_id: int) -> int:
        """Keep a lease alive; returns its remaining TTL (0 or less when it is gone)."""
        reply = await self._call(lambda c: c.refresh_lease(lease_id))
        return int(reply.TTL) if reply is not None else 0

    async def revoke_lease(self, lease_id: int) -> None:
        await self._call(lambda c: c.revoke_lease(lease_id))

    async def watch_prefix(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchEvent]:
        """Changes under `prefix` from `start_revision` on, until cancelled."""
        watch = await self._call(
            lambda c: c.watch_prefix(prefix.encode(), start_revision=start_revision)
        )
        try:
            async for ev in watch:
                deleted = ev.kind == "DELETE"
                yield WatchEvent(
                    ev.kv.key.decode(),
                    None if deleted else bytes(ev.kv.value),
                    int(ev.kv.mod_revision),
                )
        finally:
            await watch.cancel()

    async def _call(self, op: Callable[[Client], Awaitable[Any]]) -> Any:
        """Run `op` on the client; if its endpoint is gone, move to the next one and run
        it once more. Safe to repeat: reads, leases, plain puts, and transactions whose
        compares refuse a second application."""
        client = self.client
        try:
            return await op(client)
        except (aetcd.exceptions.ConnectionFailedError,
                aetcd.exceptions.ConnectionTimeoutError) as exc:
            if len(self._endpoints) < 2:
                raise StoreUnavailable(f"etcd at {self.endpoints}: {_short(exc)}") from exc
            await self._reconnect(client)
        except aetcd.exceptions.ClientError as exc:
            raise StoreUnavailable(f"etcd at {self.endpoints}: {_short(exc)}") from exc
        try:
            return await op(self.client)
        except aetcd.exceptions.ClientError as exc:
            raise StoreUnavailable(f"etcd at {self.endpoints}: {_short(exc)}") from exc

    async def _reconnect(self, failed: Client) -> None:
        """Replace a client whose endpoint failed; one coroutine does it, others wait."""
        async with self._reconnecting:
            if self._client is not failed:
                return  # someone else already moved on
            self._client = None
            # Close the old channel later: closing it now would cancel calls still on it.
            closing = asyncio.create_task(_close_later(failed, 10.0))
            self._retired.add(closing)
            closing.add_done_callback(self._retired.discard)
            await self.connect(wait_s=5.0)


async def _range_page(client: Client, *, key: bytes, end: bytes, limit: int,
                      revision: int) -> Any:
    return await client.range_page(key, end, limit=limit, revision=revision)


async def _close_later(client: Client, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    try:
        await client.close()
    except Exception:  # a dead endpoint's channel may fail to close cleanly
        pass


def prefix_end(prefix: str) -> str:
    """The first key after every key that starts with `prefix`. Pure."""
    raw = prefix.encode()
    return (raw[:-1] + bytes([raw[-1] + 1])).decode()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def written_at(responses: list[Any]) -> int:
    """The revision a successful transaction wrote at, from its put and delete answers
    (etcd stamps each with the transaction's header); 0 when it wrote nothing. Pure."""
    for r in responses:
        kind = r.WhichOneof("response")
        if kind in ("response_put", "response_delete_range"):
            revision = int(getattr(r, kind).header.revision)
            if revision:
                return revision
    return 0
