"""Node liveness against a real server and etcd (controlplane/liveness.py).

Agents are the real `agent.session.Session` with a stand-in runner. What a user sees:
- heartbeats cost etcd nothing: an idle cluster's etcd revision does not move;
- an agent that goes silent has its node marked down, and a live one stays ready;
- an agent that leaves (SIGTERM) keeps its node ready past the grace, comes back to the
  same node, and a node whose agent never comes back is marked down after the leave grace;
- a join that timed out after the server made the node can be repeated with the same
  key (and only that key), so an agent under load never exits for it;
- with three replicas, sessions held by a replica that does not lead: the leader marks
  a silent node down, and losing the replica moves no node (its agents go elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dockyard.agent import identity as ident
from dockyard.agent.session import Session, StatusBatch
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2
from tests.integration.etcd_read import embedded_read
from tests.integration.harness import (
    ServerProcess,
    free_port,
    free_port_pair,
    run_cli,
    wait_port_free,
)
from tests.integration.test_ha import Ha, Replica, ha, kill_by_pid, wait_for
from tests.integration.test_node_identity import join_channel, register
from tests.integration.test_security import FakeRunner, stop, token_of

pytestmark = pytest.mark.integration
__all__ = ["ha"]  # the HA fixture: three replicas over a 3-member etcd

GRACE_S = 2.0
LEAVE_GRACE_S = 8.0


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), free_port(), free_port_pair())
    srv.data_dir.mkdir()
    srv.start("--node-grace", str(GRACE_S), "--heartbeat", "0.5",
              "--leave-grace", str(LEAVE_GRACE_S))
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


def node_states(server: ServerProcess) -> dict[str, str]:
    rows = json.loads(run_cli(server, "get", "nodes", "-o", "json").stdout)
    return {r["name"]: r["state"] for r in rows}


async def states(server: ServerProcess) -> dict[str, str]:
    """`dockyard get nodes`, in a thread: the agents share this event loop."""
    return await asyncio.to_thread(node_states, server)


async def etcd(server: ServerProcess, *keys: str) -> list[Any]:
    return await asyncio.to_thread(embedded_read, server.data_dir, server.etcd_port, *keys)


def agent(server: ServerProcess, name: str, tmp: Path) -> Session:
    """A session that keeps its certificate, as a restarted agent does."""
    desc = objects_pb2.NodeDescription(name=name, address="127.0.0.1")
    return Session(addresses=[server.address], token=token_of(server), description=desc,
                   runner=FakeRunner(), batch=StatusBatch(),  # type: ignore[arg-type]
                   identity_file=tmp / f"{name}.pem")


async def until(what: str, probe: Any, timeout_s: float) -> Any:
    """Await `probe()` until it is truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def state_is(server: ServerProcess, want: dict[str, str]) -> bool:
    """Every node named in `want` is in the state it gives."""
    now = await states(server)
    return all(now.get(node) == state for node, state in want.items())


async def registered(server: ServerProcess, node: str) -> bool:
    """The node's liveness key holds a session again, not the leave mark."""
    value = (await etcd(server, f"/dockyard/alive/{node}"))[0]
    return bool(value) and not value.startswith("leaving")


def test_heartbeats_write_nothing_and_a_silent_node_goes_down(
    quick: ServerProcess, tmp_path: Path
) -> None:
    async def scenario() -> None:
        tasks = {n: asyncio.create_task(agent(quick, n, tmp_path).run_forever())
                 for n in ("n1", "n2")}
        try:
            await until("both nodes ready",
                        lambda: state_is(quick, {"n1": "ready", "n2": "ready"}), 30)
            before = (await etcd(quick, "@revision"))[0]
            await asyncio.sleep(3 * GRACE_S)  # a dozen heartbeats from each node
            assert (await etcd(quick, "@revision"))[0] == before  # not one write for them
            assert await states(quick) == {"n1": "ready", "n2": "ready"}

            await stop(tasks.pop("n2"))  # the host dies: no leave, no more heartbeats
            await until("n2 down", lambda: state_is(quick, {"n2": "down"}), 20)
            assert (await states(quick))["n1"] == "ready"
            alive_n1, alive_n2 = await etcd(quick, "/dockyard/alive/n1", "/dockyard/alive/n2")
            assert alive_n1 and alive_n2 is None
        finally:
            for t in tasks.values():
                await stop(t)

    asyncio.run(scenario())
    assert "n2: no heartbeat for" in quick.log_text()


def test_nodes_lost_together_go_down_together_and_the_live_one_stays(
    quick: ServerProcess, tmp_path: Path
) -> None:
    """Three agents stop at once (a host of three nodes dies): their streams close, and
    the replica declares them in one judgement (one etcd transaction); the fourth node,
    beating all along, stays ready."""
    async def scenario() -> None:
        names = ("n1", "n2", "n3", "n4")
        tasks = {n: asyncio.create_task(agent(quick, n, tmp_path).run_forever())
                 for n in names}
        try:
            await until("all ready", lambda: state_is(quick, dict.fromkeys(names, "ready")),
                        30)
            await asyncio.gather(*(stop(tasks.pop(n)) for n in ("n2", "n3", "n4")))
            lost = {"n2": "down", "n3": "down", "n4": "down"}
            await until("n2-n4 down", lambda: state_is(quick, lost), 20)
            assert (await states(quick))["n1"] == "ready"
            alive = await etcd(quick, *(f"/dockyard/alive/{n}" for n in names))
            assert alive[0] and alive[1:] == [None, None, None]
        finally:
            for t in tasks.values():
                await stop(t)

    asyncio.run(scenario())
    log = quick.log_text()
    for n in ("n2", "n3", "n4"):
        assert f"node {n}: no heartbeat for" in log
    assert "node n1: no heartbeat" not in log


def test_a_leaving_agent_keeps_its_node_until_the_leave_grace(
    quick: ServerProcess, tmp_path: Path
) -> None:
    async def scenario() -> None:
        first = agent(quick, "n1", tmp_path)
        task = asyncio.create_task(first.run_forever())
        await until("n1 ready", lambda: state_is(quick, {"n1": "ready"}), 30)
        assert await first.leave() == LEAVE_GRACE_S
        await stop(task)
        await asyncio.sleep(2 * GRACE_S)  # longer than any silent node is given
        assert (await states(quick))["n1"] == "ready"

        again = agent(quick, "n1", tmp_path)  # the restarted agent: same certificate
        task = asyncio.create_task(again.run_forever())
        try:
            await until("n1 registered again", lambda: registered(quick, "n1"), 20)
            assert (await states(quick))["n1"] == "ready"
            assert await again.leave() == LEAVE_GRACE_S
        finally:
            await stop(task)
        # This time it never comes back: down once the leave grace runs out.
        await until("n1 down", lambda: state_is(quick, {"n1": "down"}),
                    LEAVE_GRACE_S + 20)

    asyncio.run(scenario())
    events = run_cli(quick, "events").stdout
    assert "agent stopping; its tasks stay for 8s" in events, events


def test_sessions_on_a_follower_the_leader_marks_down_and_a_lost_follower_moves_no_node(
    ha: Ha, tmp_path: Path
) -> None:
    """Three replicas: the agents hold their sessions on replicas that do not lead."""
    leader = wait_for(ha.leader_name, 10)
    followers = [r for r in ha.replicas if r.name != leader]
    assert len(followers) == 2, leader

    def follower_agent(name: str, order: list[Replica]) -> Session:
        desc = objects_pb2.NodeDescription(name=name, address="127.0.0.1")
        return Session(addresses=[r.address for r in order], token=token_of(order[0]),
                       description=desc, runner=FakeRunner(),  # type: ignore[arg-type]
                       batch=StatusBatch(), identity_file=tmp_path / f"{name}.pem")

    async def scenario() -> None:
        a = asyncio.create_task(follower_agent("a", [followers[0]]).run_forever())
        b = asyncio.create_task(follower_agent("b", followers).run_forever())
        try:
            await until("a and b ready", lambda: state_is(followers[1], {"a": "ready",
                                                                         "b": "ready"}), 60)
            # a's host dies: its follower notices, and the leader marks it down.
            await stop(a)
            await until("a down", lambda: state_is(followers[1], {"a": "down"}), 30)
            assert (await states(followers[1]))["b"] == "ready"

            # b's replica dies: b registers with the other follower before the dead
            # replica's lease runs out, so b is never seen down.
            kill_by_pid(followers[0])
            seen = set()
            deadline = time.monotonic() + 12  # three node graces
            while time.monotonic() < deadline:
                seen.add((await states(followers[1]))["b"])
                await asyncio.sleep(0.3)
            assert seen == {"ready"}, seen
        finally:
            await stop(a)
            await stop(b)

    asyncio.run(scenario())


def test_a_join_whose_answer_was_lost_can_be_repeated_with_the_same_key_only(
    server: ServerProcess,
) -> None:
    """Under load a join can time out after the server made the node: the agent asks
    again with the same key and gets its node, instead of being told the name is taken
    and exiting. Another key still cannot take the name."""
    key = ident.new_key()

    async def join(with_key: Any) -> dispatcher_pb2.RegisterResponse:
        csr = ident.Identity("n1", with_key).csr()
        async with join_channel(server, "n1") as ch:
            reply: dispatcher_pb2.RegisterResponse = await dispatcher_pb2_grpc.CertificatesStub(
                ch).Register(register("n1", csr), timeout=30)
            return reply

    async def scenario() -> None:
        first = await join(key)
        again = await join(key)  # the first answer "lost"
        assert again.certificate and again.subnet == first.subnet
        assert again.session_id != first.session_id
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await join(ident.new_key())
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "node n1 already exists" in (refused.value.details() or "")

    asyncio.run(scenario())
