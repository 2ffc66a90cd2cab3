"""A replica's unreachable marks against a real etcd (controlplane/liveness.py): a mark
that etcd did not take away is asked again.

A node whose session stream closes is marked unreachable, and no new task goes there;
heard from again on that session, its mark goes. If etcd is out of reach just then, the
clear must be tried again, or the healthy node would take no new task for as long as its
session lasts. Here the store fails the first clear (StoreUnavailable, as a lost etcd
does) over the real one.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from dockyard.controlplane.api.sessionregistry import SessionRegistry
from dockyard.controlplane.detector import DetectorSettings
from dockyard.controlplane.liveness import NodeLiveness
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from tests.integration.harness import ServerProcess, embedded_etcd_tls

pytestmark = pytest.mark.integration


class FailsOnce(EtcdStore):
    """The real store; the next commit that deletes keys raises once `fail_next` is set."""

    fail_next = False

    async def commit(self, commit: Commit) -> bool:
        if self.fail_next and commit.deletes:
            self.fail_next = False
            raise StoreUnavailable("etcd out of reach (the test's)")
        return await super().commit(commit)


async def until_key(store: EtcdStore, key: str, *, present: bool, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:  # bounded in time
        if (await store.get(key) is not None) == present:
            return True
        await asyncio.sleep(0.05)
    return False


def test_a_mark_etcd_did_not_clear_is_cleared_on_the_next_try(server: ServerProcess) -> None:
    async def scenario() -> tuple[bool, bool]:
        store = FailsOnce([f"https://127.0.0.1:{server.etcd_port}"],
                          tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        registry = SessionRegistry()
        liveness = NodeLiveness(store, registry, tick_s=0.05, settings=DetectorSettings(
            period_s=0.2, grace_s=30.0, grace_max_s=60.0))
        judging = asyncio.create_task(liveness.run())
        try:
            node, lease = "marks-blip", await liveness.lease_id()
            sid = registry.open(node, lease)
            await store.commit(Commit(lease_puts={keys.alive_key(node): (sid.encode(), lease)}))
            liveness.registered(node, sid)
            liveness.heard(node, sid)
            liveness.disconnected(node, sid)  # the stream blips
            marked = await until_key(store, keys.unreachable_key(node), present=True,
                                     within_s=10.0)
            store.fail_next = True
            liveness.heard(node, sid)  # heard again on the same session: reachable
            cleared = await until_key(store, keys.unreachable_key(node), present=False,
                                      within_s=10.0)
            return marked, cleared
        finally:
            judging.cancel()
            await asyncio.gather(judging, return_exceptions=True)
            await store.close()

    marked, cleared = asyncio.run(scenario())
    assert marked
    assert cleared
