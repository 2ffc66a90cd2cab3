"""The replica's liveness lease against a real etcd (controlplane/store/leases.py): a
lost lease is replaced, and the new one is renewed while its owner is still moving its
keys onto it (a move of hundreds of keys can outlast the TTL on a loaded machine)."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.controlplane.store.leases import KeptLease
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
