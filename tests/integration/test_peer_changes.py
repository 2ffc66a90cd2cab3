"""The node table over a session that stays open: the whole table first, then only the
rows that changed (common/peertable.py), against a real server and etcd. The agent
watching must end up with the same peers as one that has just joined and got the whole
table at once.

Agents are the real `agent.session.Session` with the stand-in runner of
test_subnets.py, which records what the node network would be built from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dockyard.agent.session import Session
from tests.integration.harness import ServerProcess
from tests.integration.test_subnets import Recorder, _session

pytestmark = pytest.mark.integration


async def _until(what: Callable[[], bool], tasks: list[asyncio.Task[None]], why: str) -> None:
    for _ in range(150):
        if what():
            return
        for t in tasks:
            if t.done():
                t.result()
        await asyncio.sleep(0.1)
    raise AssertionError(why)


def _started(server: ServerProcess, name: str, rec: Recorder, *,
             address: str = "") -> tuple[Session, asyncio.Task[None]]:
    s = _session(server, name, rec)
    if address:
        s._desc.address = address  # the same node, come back from another address
    return s, asyncio.create_task(s.run_forever())


async def _scenario(server: ServerProcess) -> None:
    watcher = Recorder()
    _, first = _started(server, "n1", watcher)
    tasks = [first]
    try:
        await _until(lambda: watcher.peers == [], tasks, "n1 got no node table")
        # Nodes join while n1's session is open: it hears of them as changes.
        later = {n: Recorder() for n in ("n22", "n333", "n4444")}
        for n, rec in later.items():
            tasks.append(_started(server, n, rec)[1])
        await _until(lambda: watcher.peers is not None and len(watcher.peers) == 3, tasks,
                     f"n1 did not hear of the nodes that joined: {watcher.peers}")
        subnets = {n: r.subnet for n, r in later.items()}
        assert watcher.peers == [(n, f"127.0.0.{len(n) + 1}", subnets[n]) for n in later]
        # One of them comes back from another address: n1 gets its row again.
        tasks[1].cancel()
        await asyncio.gather(tasks[1], return_exceptions=True)
        tasks[1] = _started(server, "n22", later["n22"], address="127.0.0.33")[1]
        await _until(lambda: watcher.peers is not None and
                     ("n22", "127.0.0.33", subnets["n22"]) in watcher.peers, tasks,
                     f"n1 did not hear of n22's new address: {watcher.peers}")
        # A node joining now gets the whole table at once: the same rows.
        fresh = Recorder()
        tasks.append(_started(server, "n55555", fresh)[1])
        await _until(lambda: fresh.peers is not None and len(fresh.peers) == 4
                     and watcher.peers is not None and len(watcher.peers) == 4, tasks,
                     f"the tables differ: {fresh.peers} against {watcher.peers}")
        seen_by_fresh = sorted([*fresh.peers, ("n55555", "127.0.0.7", fresh.subnet)])
        seen_by_watcher = sorted([*watcher.peers, ("n1", "127.0.0.3", watcher.subnet)])
        assert seen_by_fresh == seen_by_watcher
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_an_open_session_ends_up_with_the_same_peers_as_a_new_one(
        server: ServerProcess) -> None:
    asyncio.run(_scenario(server))
