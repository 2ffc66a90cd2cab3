"""The store's promises against a real etcd: one transaction per commit, stale writes refused."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.store.etcd import Commit, EtcdStore
from tests.integration.harness import ServerProcess

pytestmark = pytest.mark.integration


def test_stale_write_is_refused_and_nothing_is_half_applied(server: ServerProcess) -> None:
    async def scenario() -> None:
        store = EtcdStore([f"http://127.0.0.1:{server.etcd_port}"])
        await store.connect()
        try:
            assert await store.commit(Commit(expect={"/t/a": 0}, puts={"/t/a": b"1"}))
            a = await store.get("/t/a")
            assert a is not None
            # A second writer that read before the first one wrote: refused whole.
            stale = Commit(expect={"/t/a": 0}, puts={"/t/a": b"2", "/t/b": b"2"})
            assert not await store.commit(stale)
            assert (await store.get("/t/a")).value == b"1"  # type: ignore[union-attr]
            assert await store.get("/t/b") is None
            # With the fresh version it goes through, all of it.
            fresh = Commit(expect={"/t/a": a.mod_revision}, puts={"/t/a": b"3", "/t/b": b"3"})
            assert await store.commit(fresh)
            entries, _ = await store.get_prefix("/t/")
            assert [(e.key, e.value) for e in entries] == [("/t/a", b"3"), ("/t/b", b"3")]
        finally:
            await store.close()

    asyncio.run(scenario())
