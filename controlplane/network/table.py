"""The node table agents route by: every other node's address and subnet. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.v1 import dispatcher_pb2, objects_pb2


def peers_for(nodes: Iterable[objects_pb2.Node], me: str) -> list[dispatcher_pb2.Peer]:
    """Every node but `me` that has a subnet, sorted by name. Pure.

    Down nodes stay in the table: their routes outlive a restart of their agent, so
    running containers never lose each other; only a removed node leaves it.
    """
    return [
        dispatcher_pb2.Peer(name=n.meta.id, address=n.description.address, subnet=n.subnet)
        for n in sorted(nodes, key=lambda n: n.meta.id)
        if n.meta.id != me and n.subnet and n.description.address
    ]
