"""The store's promises against a real etcd: one transaction per commit, stale writes refused."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.controlplane.store.etcd import Commit, EtcdStore
from tests.integration.harness import ServerProcess, embedded_etcd_tls

pytestmark = pytest.mark.integration

# The server's etcd user may touch /dockyard/ only.
T = "/dockyard/t/"
A, B = T + "a", T + "b"


def test_stale_write_is_refused_and_nothing_is_half_applied(server: ServerProcess) -> None:
    async def scenario() -> None:
        store = EtcdStore([f"https://127.0.0.1:{server.etcd_port}"],
                          tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        try:
            assert await store.commit(Commit(expect={A: 0}, puts={A: b"1"}))
            a = await store.get(A)
            assert a is not None
            # A second writer that read before the first one wrote: refused whole.
            stale = Commit(expect={A: 0}, puts={A: b"2", B: b"2"})
            assert not await store.commit(stale)
            assert (await store.get(A)).value == b"1"  # type: ignore[union-attr]
            assert await store.get(B) is None
            # With the fresh version it goes through, all of it.
            fresh = Commit(expect={A: a.mod_revision}, puts={A: b"3", B: b"3"})
            assert await store.commit(fresh)
            entries, _ = await store.get_prefix(T)
            assert [(e.key, e.value) for e in entries] == [(A, b"3"), (B, b"3")]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_mirror_reaches_the_revision_a_commit_wrote_at(server: ServerProcess) -> None:
    """The leader's read-your-writes: a commit says the revision it wrote at, and a mirror
    that has caught up with that revision shows the write (a round decided before that
    would create again the tasks the last round created)."""
    from dockyard.controlplane.mirror import Mirror
    from dockyard.controlplane.store import keys

    async def scenario() -> None:
        store = EtcdStore([f"https://127.0.0.1:{server.etcd_port}"],
                          tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        mirror = Mirror(store)
        follow = asyncio.create_task(mirror.run())
        try:
            await asyncio.wait_for(mirror.synced.wait(), timeout=30)
            key = keys.task_key("readback", "t1")
            revision = await store.commit_at(Commit(expect={key: 0}, puts={key: b""}))
            assert revision is not None and revision > 0
            assert await store.commit_at(Commit(expect={key: 0}, puts={key: b""})) is None
            assert await mirror.caught_up(revision, timeout_s=30)
            assert mirror.view.revision >= revision
            assert not await mirror.caught_up(revision + 1_000_000, timeout_s=0.2)
            await store.commit(Commit(deletes=[key]))
        finally:
            follow.cancel()
            await asyncio.gather(follow, return_exceptions=True)
            await store.close()

    asyncio.run(scenario())
