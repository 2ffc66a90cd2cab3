"""The replica's liveness lease against a real etcd (controlplane/store/leases.py): a
lost lease is replaced, and the new one is renewed while its owner is still moving its
keys onto it (a move of hundreds of keys can outlast the TTL on a loaded machine)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.controlplane.store.leases import KeptLease
from tests.integration.etcd_cluster import EtcdCluster
from tests.integration.harness import ServerProcess, embedded_etcd_tls

pytestmark = pytest.mark.integration


def test_a_new_lease_is_renewed_while_the_keys_move_onto_it(server: ServerProcess) -> None:
    async def scenario() -> None:
        store = EtcdStore([f"https://127.0.0.1:{server.etcd_port}"],
                          tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        moving, release = asyncio.Event(), asyncio.Event()
        moves: list[tuple[int, int]] = []

        async def slow_move(old: int, new: int) -> None:
            moves.append((old, new))
            moving.set()
            await release.wait()  # the keys are still moving until the test says so

        lease = KeptLease(store, ttl_s=2, on_new=slow_move)  # renewed every 0.5 s
        keeper = asyncio.create_task(lease.run())
        try:
            first = await lease.current(wait_s=20)
            await store.revoke_lease(first)  # etcd loses it
            await asyncio.wait_for(moving.wait(), timeout=60)
            during = lease.renewals
            for _ in range(600):  # bounded: 60 s
                if lease.renewals >= during + 6:  # three seconds of renewals: past the TTL
                    break
                await asyncio.sleep(0.1)
            assert lease.renewals >= during + 6
            assert moves == [(first, lease.id)] and lease.id != first
            release.set()
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await store.close()

    asyncio.run(scenario())


def test_the_lease_is_kept_when_the_etcd_member_it_is_renewed_on_dies(
    tmp_path: Path,
) -> None:
    """The keep-alive stream breaks with its member: the lease is renewed again through
    another member, so the nodes whose alive keys hang on it stay ready (a dead stream
    once ended the keeper, the lease expired, and every node of the replica was declared
    down while its agents kept beating)."""
    etcd = EtcdCluster(tmp_path / "etcd")
    etcd.start()

    async def scenario() -> None:
        store = EtcdStore(etcd.urls)  # connects to the first member: the one to die
        await store.connect()
        lease = KeptLease(store, ttl_s=2)  # renewed every 0.5 s
        keeper = asyncio.create_task(lease.run())
        try:
            first = await lease.current(wait_s=20)
            await store.commit(Commit(lease_puts={"/probe/alive": (b"1", first)}))
            etcd.kill(etcd.members[0])
            before = lease.renewals
            for _ in range(300):  # bounded: 30 s
                if lease.renewals >= before + 10 or keeper.done():
                    break
                await asyncio.sleep(0.1)
            assert not keeper.done(), keeper.exception()
            assert lease.renewals >= before + 10
            assert lease.id == first  # renewed in time: never lost
            assert (await store.get("/probe/alive")) is not None
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await store.close()

    try:
        asyncio.run(scenario())
    finally:
        etcd.stop()
