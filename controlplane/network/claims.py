"""Node subnet claims in etcd: read them, check the cluster CIDR against them, and add
the claim of a new node's subnet to its registration transaction.

The decisions are `subnets.py`'s pure functions; this module only reads and writes keys.
A claim is `/dockyard/subnets/<a.b.c.d-24>` holding the node name, created only if
absent, so two registrations at once cannot take the same subnet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from dockyard.controlplane.network.subnets import allocate, check_inside, claim_name
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.v1 import objects_pb2


async def held_subnets(store: EtcdStore) -> dict[str, str]:
    """Node name -> subnet, from the claim keys."""
    entries, _ = await store.get_prefix(keys.SUBNETS)
    return {e.value.decode(): e.key[len(keys.SUBNETS):].replace("-", "/") for e in entries}


async def check_cluster_cidr(store: EtcdStore, cidr: ipaddress.IPv4Network) -> None:
    """Raise `SubnetError` when a node already holds a subnet outside `cidr`."""
    check_inside(cidr, await held_subnets(store))


async def claim_for(
    store: EtcdStore,
    cidr: ipaddress.IPv4Network,
    node: objects_pb2.Node,
    desc: objects_pb2.NodeDescription,
    commit: Commit,
    in_flight: Mapping[str, str] | None = None,
) -> None:
    """Give `node` its subnet (kept if it has one) and add the claim to `commit`.

    `in_flight` (node -> subnet) are claims this server is committing right now: they
    count as held, so a thousand nodes joining at once do not all reach for the same
    lowest free subnet and retry (only one create of a claim key can win).

    Raises `SubnetError` (exhausted CIDR, overlapping address or override).
    """
    held = await held_subnets(store)
    for other, subnet in (in_flight or {}).items():
        if other != desc.name:
            held.setdefault(other, subnet)
    mine = held.get(desc.name)
    if mine and node.subnet in ("", mine):
        node.subnet = mine
        return
    held.pop(desc.name, None)
    if node.subnet:
        held[desc.name] = node.subnet  # an older claim was lost: take it back if free
    subnet = allocate(cidr, held, desc.name, address=desc.address,
                      requested=desc.container_subnet)
    node.subnet = subnet
    key = keys.subnet_key(claim_name(subnet))
    commit.expect[key] = 0
    commit.puts[key] = desc.name.encode()
