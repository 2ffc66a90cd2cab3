"""controlplane/api/statuses.py against a real etcd: many callers' statuses written
together, the last report winning, and no status written for a task that is gone."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.controlplane.api.statuses import StatusWriter
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from tests.integration.harness import ServerProcess, embedded_etcd_tls

pytestmark = pytest.mark.integration

APP = "grouped"


def _write(tid: str, value: bytes) -> tuple[str, str, bytes]:
    return keys.task_key(APP, tid), keys.status_key(APP, tid), value


def test_statuses_of_many_callers_land_together_and_only_for_live_tasks(
        server: ServerProcess) -> None:
    async def scenario() -> None:
        store = EtcdStore([f"https://127.0.0.1:{server.etcd_port}"],
                          tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        try:
            live = [f"t{i:03d}" for i in range(250)]
            for i in range(0, 250, 50):  # etcd takes at most 128 writes a transaction
                await store.commit(Commit(puts={keys.task_key(APP, t): b"task"
                                                for t in live[i:i + 50]}))
            _, before = await store.get_prefix(keys.CLUSTER)
            writer = StatusWriter(store)
            # 50 callers of 5 statuses each (one node's batch each), all at once, and a
            # report of a task that was never created (deleted meanwhile), and a task
            # reported twice in the same burst: the later report wins.
            calls = [writer.write([_write(t, b"running") for t in live[i:i + 5]])
                     for i in range(0, 250, 5)]
            calls.append(writer.write([_write("gone", b"running"), _write("t000", b"ended")]))
            await asyncio.gather(*calls)
            statuses, after = await store.get_prefix(keys.status_prefix(APP))
            got = {e.key.rsplit("/", 1)[1]: e.value for e in statuses}
            assert set(got) == set(live)  # none for "gone"
            assert got["t000"] == b"ended"
            assert all(v == b"running" for t, v in got.items() if t != "t000")
            # Together: far fewer transactions than the 51 calls (each write moves the
            # revision once; the transaction that held "gone" is split in halves down
            # to it, a few more).
            assert writer.groups < 10
            assert after - before < 20
        finally:
            await store.close()

    asyncio.run(scenario())
