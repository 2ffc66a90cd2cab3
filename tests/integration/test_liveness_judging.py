"""The replica's judging against a real etcd (controlplane/liveness.py): waiting on etcd
is not a stall.

A replica excuses the time its own event loop was stalled (a late judging tick), since
heartbeats may have queued unread meanwhile. The time a judgement spends committing its
declarations is no such stall: heartbeats are read all along. When it was excused, each
slow commit of the nodes declared first set back the clock of every node still to be
declared, so the last dead node of a host was found one commit late or more. Here etcd
answers each commit of a declaration 1.5 s late (a store that waits before each commit,
over the real one): nodes that die a little apart, their streams closing, are all
declared, the live ones stay, and the replica excuses none of that waiting. Nodes that go
silent with their streams open (a storm's path more than a lost host's) are declared
one by one as before, the whole time their commits took still excused.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from dockyard.controlplane.api.sessionregistry import SessionRegistry
from dockyard.controlplane.detector import DetectorSettings
from dockyard.controlplane.liveness import NodeLiveness
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from tests.integration.harness import ServerProcess, embedded_etcd_tls

pytestmark = pytest.mark.integration

PERIOD_S = 0.2
COMMIT_WAIT_S = 1.5


class SlowCommits(EtcdStore):
    """The real store, with each commit sent `wait_s` late once `wait_s` is set."""

    wait_s = 0.0

    async def commit(self, commit: Commit) -> bool:
        if self.wait_s:
            await asyncio.sleep(self.wait_s)
        return await super().commit(commit)


async def alive(store: EtcdStore, node: str) -> bytes | None:
    entry = await store.get(keys.alive_key(node))
    return None if entry is None else entry.value


def judged(server: ServerProcess, *, streams_close: bool
           ) -> tuple[list[bytes | None], list[bytes | None], float]:
    """Four live nodes beat on; four stop, one a beat (their streams closing or not),
    while each declaring commit waits 1.5 s. Their liveness keys afterwards (dead, live)
    and the seconds the replica excused as stalls."""
    live = [f"judged-live-{i}" for i in range(4)]
    dead = [f"judged-dead-{i}" for i in range(4)]

    async def scenario() -> tuple[list[bytes | None], list[bytes | None], float]:
        store = SlowCommits([f"https://127.0.0.1:{server.etcd_port}"],
                            tls=embedded_etcd_tls(server.data_dir))
        await store.connect()
        registry = SessionRegistry()
        liveness = NodeLiveness(store, registry, tick_s=0.05, settings=DetectorSettings(
            period_s=PERIOD_S, grace_s=0.8, grace_max_s=3.0))
        judging = asyncio.create_task(liveness.run())
        try:
            lease = await liveness.lease_id()
            sessions = {}
            for node in live + dead:
                sid = registry.open(node, lease)
                await store.commit(Commit(lease_puts={keys.alive_key(node): (sid.encode(),
                                                                             lease)}))
                liveness.registered(node, sid)
                sessions[node] = sid
            beating = set(live + dead)
            store.wait_s = COMMIT_WAIT_S
            started = time.monotonic()
            for step in range(150):  # bounded: 30 s of heartbeats
                for node in beating:
                    liveness.heard(node, sessions[node])
                if step >= 8 and step - 8 < len(dead):  # past probation; one dies a beat
                    node = dead[step - 8]
                    beating.discard(node)
                    if streams_close:
                        liveness.disconnected(node, sessions[node])
                if step > 12 and not any([await alive(store, n) for n in dead]):
                    break
                await asyncio.sleep(PERIOD_S)
            assert time.monotonic() - started < 30
            store.wait_s = 0.0
            got_dead = [await alive(store, n) for n in dead]
            got_live = [await alive(store, n) for n in live]
            return got_dead, got_live, liveness.stalled_s
        finally:
            judging.cancel()
            await asyncio.gather(judging, return_exceptions=True)
            await store.close()

    return asyncio.run(scenario())


def test_waiting_on_etcd_to_declare_lost_nodes_is_not_excused_as_a_stall(
        server: ServerProcess) -> None:
    got_dead, got_live, stalled_s = judged(server, streams_close=True)
    assert got_dead == [None] * 4  # every dead node declared
    assert all(got_live)  # and no live one
    # The judging waited 1.5 s on each declaring commit; none of it counted as a stall
    # (excused, it was 1.45 s at least, once per commit).
    assert stalled_s < 1.0


def test_silent_nodes_with_open_streams_are_still_declared_one_by_one_as_slowly(
        server: ServerProcess) -> None:
    """Nodes silent with their streams open (a storm's path more than a lost host's)
    are declared one by one, and the whole time their commits took is still
    excused, as before: in a storm, each declaration slows the next."""
    got_dead, got_live, stalled_s = judged(server, streams_close=False)
    assert got_dead == [None] * 4
    assert all(got_live)
    assert stalled_s >= 1.0
