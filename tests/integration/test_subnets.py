"""Node subnets against a real server and etcd: given at first registration, the same
after agent and server restarts, sent with the node table; bad CIDRs are one line.

Agents here are the real `agent.session.Session` with a stand-in runner (no Docker) and
hooks that record what the network would be built from.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from dockyard.agent.session import JoinRefused, Session, StatusBatch
from dockyard.controlplane.network.subnets import claim_name
from dockyard.controlplane.store import keys
from dockyard.v1 import dispatcher_pb2, objects_pb2
from tests.integration.etcd_read import embedded_read
from tests.integration.harness import ServerProcess, run_cli, wait_port_free

pytestmark = pytest.mark.integration


class Recorder:
    """Runner stand-in plus the two network hooks of the session."""

    def __init__(self) -> None:
        self.subnet = ""
        self.cidr = ""
        self.peers: list[tuple[str, str, str]] | None = None

    def resend_all(self) -> None:
        pass

    def assign(self, msg: dispatcher_pb2.SessionMessage) -> None:
        pass

    async def on_register(self, reg: dispatcher_pb2.RegisterResponse) -> None:
        self.subnet, self.cidr = reg.subnet, reg.cluster_cidr

    def on_peers(self, peers: Sequence[dispatcher_pb2.Peer]) -> None:
        self.peers = sorted((p.name, p.address, p.subnet) for p in peers)


def _session(server: ServerProcess, name: str, rec: Recorder) -> Session:
    token = (server.data_dir / "join-token").read_text().strip()
    desc = objects_pb2.NodeDescription(name=name, address=f"127.0.0.{len(name) + 1}")
    # Each agent keeps its certificate, as a real one does in --state-dir: a restarted
    # agent registers as the same node (a name is never taken over with the token).
    kept = server.data_dir.parent / "agents" / f"{name}.pem"
    return Session(addresses=[server.address], token=token, description=desc,
                   runner=rec, batch=StatusBatch(),  # type: ignore[arg-type]
                   identity_file=kept, on_register=rec.on_register, on_peers=rec.on_peers)


async def _join(server: ServerProcess, names: list[str], *, peers: int) -> dict[str, Recorder]:
    recs = {n: Recorder() for n in names}
    tasks = [asyncio.create_task(_session(server, n, recs[n]).run_forever()) for n in names]
    try:
        for _ in range(100):
            if all(r.subnet and r.peers is not None and len(r.peers) >= peers
                   for r in recs.values()):
                return recs
            for t in tasks:
                if t.done():
                    t.result()
            await asyncio.sleep(0.1)
        raise AssertionError(f"agents did not get subnets and peers: {vars(recs[names[0]])}")
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _restart(server: ServerProcess, *extra: str) -> None:
    server.stop(signal.SIGTERM)
    wait_port_free(server.grpc_port)
    wait_port_free(server.etcd_port)
    server.start(*extra)


def test_nodes_get_distinct_subnets_kept_across_restarts(server: ServerProcess) -> None:
    recs = asyncio.run(_join(server, ["n1", "n22", "n333"], peers=2))
    subnets = {n: r.subnet for n, r in recs.items()}
    cidr = ipaddress.IPv4Network("10.214.0.0/16")
    assert len(set(subnets.values())) == 3
    assert all(ipaddress.IPv4Network(s).subnet_of(cidr) for s in subnets.values())
    assert {r.cidr for r in recs.values()} == {"10.214.0.0/16"}
    assert recs["n1"].peers == [("n22", "127.0.0.4", subnets["n22"]),
                                ("n333", "127.0.0.5", subnets["n333"])]
    nodes = run_cli(server, "get", "nodes", "-o", "json").stdout
    assert subnets["n22"] in nodes

    again = asyncio.run(_join(server, ["n22"], peers=2))  # an agent restart
    assert again["n22"].subnet == subnets["n22"]
    _restart(server)
    after = asyncio.run(_join(server, ["n333", "n4444"], peers=3))
    assert after["n333"].subnet == subnets["n333"]
    assert after["n4444"].subnet not in subnets.values()


def test_cluster_cidr_that_drops_a_node_stops_the_server(server: ServerProcess) -> None:
    recs = asyncio.run(_join(server, ["n1"], peers=0))
    server.stop(signal.SIGTERM)
    wait_port_free(server.etcd_port)
    out = subprocess.run([*server.argv(), "--cluster-cidr", "10.99.0.0/16"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    line = out.stderr.strip().splitlines()[-1]
    assert "10.99.0.0/16" in line and "n1" in line and recs["n1"].subnet in line


def test_bad_cluster_cidr_is_one_line(server: ServerProcess) -> None:
    server.stop(signal.SIGTERM)
    wait_port_free(server.etcd_port)
    out = subprocess.run([*server.argv(), "--cluster-cidr", "10.1.2.0/25"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cluster CIDR 10.1.2.0/25 is too small")


@pytest.fixture
def small_cidr(tmp_path: Path, server: ServerProcess) -> ServerProcess:
    _restart(server, "--cluster-cidr", "10.50.0.0/23", "--node-grace", "2",
             "--heartbeat", "0.5")
    return server


def test_exhausted_cidr_refuses_the_node_by_name(small_cidr: ServerProcess) -> None:
    recs = asyncio.run(_join(small_cidr, ["n1"], peers=0))
    assert recs["n1"].subnet == "10.50.1.0/24"
    with pytest.raises(JoinRefused, match=r"exhausted: no free /24 for node n22"):
        asyncio.run(_join(small_cidr, ["n22"], peers=0))


def test_node_rm_frees_the_subnet_for_another_node(small_cidr: ServerProcess) -> None:
    recs = asyncio.run(_join(small_cidr, ["n1"], peers=0))  # the only free /24
    for _ in range(100):  # bounded: the grace is 2 s
        nodes = {n["name"]: n for n in json.loads(
            run_cli(small_cidr, "get", "nodes", "-o", "json").stdout)}
        if nodes["n1"]["state"] == "down":
            break
        time.sleep(0.2)
    assert run_cli(small_cidr, "node", "rm", "n1").stdout.strip() == "node n1 removed"
    again = asyncio.run(_join(small_cidr, ["n22"], peers=0))
    assert again["n22"].subnet == recs["n1"].subnet


def _claim(server: ServerProcess, subnet: str) -> str | None:
    """The node name a subnet's claim key holds in etcd, or None."""
    key = keys.subnet_key(claim_name(subnet))
    got: str | None = embedded_read(server.data_dir, server.etcd_port, key)[0]
    return got


@pytest.fixture
def many_joins(server: ServerProcess) -> ServerProcess:
    """One source address may join many nodes at once (all agents here are 127.0.0.1)."""
    _restart(server, "--join-rate", "1000/1000")
    return server


def test_nodes_joining_at_once_get_one_subnet_each(many_joins: ServerProcess) -> None:
    names = [f"j{i:02d}" for i in range(40)]
    recs = asyncio.run(_join(many_joins, names, peers=0))
    subnets = {n: r.subnet for n, r in recs.items()}
    assert len(set(subnets.values())) == len(names)
    assert embedded_read(many_joins.data_dir, many_joins.etcd_port, keys.SUBNETS)[0] == 40
    assert {n: _claim(many_joins, s) for n, s in subnets.items()} == {n: n for n in names}
    nodes = {n["name"]: n for n in json.loads(
        run_cli(many_joins, "get", "nodes", "-o", "json").stdout)}
    assert {n: nodes[n]["subnet"] for n in names} == subnets

    again = asyncio.run(_join(many_joins, names[:10], peers=0))  # ten agents restart
    assert {n: r.subnet for n, r in again.items()} == {n: subnets[n] for n in names[:10]}


def test_a_node_whose_claim_was_lost_takes_its_subnet_back(many_joins: ServerProcess) -> None:
    recs = asyncio.run(_join(many_joins, ["a1", "b22"], peers=0))
    lost = recs["a1"].subnet
    embedded_read(many_joins.data_dir, many_joins.etcd_port,
                  "!" + keys.subnet_key(claim_name(lost)))
    assert _claim(many_joins, lost) is None
    again = asyncio.run(_join(many_joins, ["a1"], peers=0))  # its agent registers again
    assert again["a1"].subnet == lost
    assert _claim(many_joins, lost) == "a1"


def test_a_node_whose_lost_subnet_was_taken_gets_another(
        many_joins: ServerProcess, tmp_path: Path) -> None:
    recs = asyncio.run(_join(many_joins, ["a1", "b22"], peers=0))
    lost = recs["a1"].subnet
    # Its claim is gone and another holder's claim is on the subnet meanwhile.
    holder = tmp_path / "holder"
    holder.write_text("other")
    key = keys.subnet_key(claim_name(lost))
    embedded_read(many_joins.data_dir, many_joins.etcd_port, f"{key}={holder}")
    assert _claim(many_joins, lost) == "other"
    again = asyncio.run(_join(many_joins, ["a1"], peers=0))
    got = again["a1"].subnet
    assert got not in (lost, recs["b22"].subnet)
    assert _claim(many_joins, got) == "a1"
    assert _claim(many_joins, lost) == "other"
    nodes = {n["name"]: n for n in json.loads(
        run_cli(many_joins, "get", "nodes", "-o", "json").stdout)}
    assert nodes["a1"]["subnet"] == got
