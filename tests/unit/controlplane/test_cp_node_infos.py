"""controlplane/snapshot.py node_infos: what each node's placed tasks take, counted by
spec rather than task by task, must be what adding them up task by task gives."""

from __future__ import annotations

import random

from dockyard.controlplane.snapshot import host_ports, node_infos
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import MIB, node, service, spec, task


def _by_hand(nodes: list[objects_pb2.Node], holding: list[objects_pb2.Task]
             ) -> dict[str, tuple[int, int, frozenset[int], dict[str, int]]]:
    out: dict[str, tuple[int, int, frozenset[int], dict[str, int]]] = {}
    for n in nodes:
        mine = [t for t in holding if t.node == n.meta.id]
        counts: dict[str, int] = {}
        for t in mine:
            counts[f"{t.app}/{t.service}"] = counts.get(f"{t.app}/{t.service}", 0) + 1
        out[n.meta.id] = (
            sum(t.spec.reservations.cpu_millis for t in mine),
            sum(t.spec.reservations.memory_bytes for t in mine),
            frozenset(p for t in mine for p in host_ports(t.spec)),
            counts)
    return out


def _with_port(s: specs_pb2.ServiceSpec, port: int) -> specs_pb2.ServiceSpec:
    s.ports.append(specs_pb2.PortMapping(container_port=80, host_port=port, mode="host"))
    return s


def test_node_infos_adds_up_what_each_nodes_tasks_take() -> None:
    rng = random.Random(7)
    nodes = [node(f"n{i}") for i in range(6)]
    web_v1 = service("shop", spec("web", cpu=100, mem=64 * MIB))
    web_v2 = service("shop", spec("web", cpu=250, mem=32 * MIB))  # mid-update: two specs
    db = service("shop", _with_port(spec("db", cpu=500, mem=512 * MIB), 5432))
    other = service("blog", _with_port(spec("web", cpu=10, mem=8 * MIB), 8080))
    holding = [task(rng.choice((web_v1, web_v2, db, other)), i, tid=f"t{i}",
                    node=rng.choice(nodes).meta.id) for i in range(200)]
    unhashed = task(db, 999, tid="odd", node="n0", spec_hash="")  # no hash: its own spec
    unhashed.spec.reservations.cpu_millis = 7
    holding.append(unhashed)
    want = _by_hand(nodes, holding)
    for info in node_infos(nodes, holding):
        cpu, mem, ports, counts = want[info.name]
        assert (info.allocated.cpu_millis, info.allocated.memory_bytes) == (cpu, mem)
        assert info.used_ports == ports
        assert info.service_counts == counts
