"""Node subnet claims in etcd: kept in memory, checked against the cluster CIDR, and
added to a node's registration transaction.

The decisions are `subnets.py`'s pure functions; this module only reads and writes keys.
A claim is `/dockyard/subnets/<a.b.c.d-24>` holding the node name, created only if
absent, so two registrations at once cannot take the same subnet.

Registration used to read every claim from etcd to choose a new node's subnet: linear
in the nodes per join, quadratic for a thousand nodes joining at once. `SubnetClaims`
keeps the claims in memory instead (one read, then a watch of the claim keys), adds the
claims this replica is committing right now, and puts into each registration's
transaction a compare on the claim it relies on: created only if absent for a new
subnet, still holding the node's name for a kept one. The copy in memory can be late
(another replica's claim not seen yet); then the transaction fails, the claims it
relied on are read again, and the registration chooses again. So the copy decides only
how often a registration retries, never whether two nodes share a subnet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable

from dockyard.controlplane.network.subnets import (
    HeldSubnets,
    allocate_new,
    check_inside,
    claim_name,
)
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.v1 import objects_pb2

log = logging.getLogger(__name__)


def subnet_of_key(key: str) -> str:
    """`/dockyard/subnets/10.214.3.0-24` -> `10.214.3.0/24`. Pure."""
    return key[len(keys.SUBNETS):].replace("-", "/")


async def held_subnets(store: EtcdStore) -> dict[str, str]:
    """Node name -> subnet, from the claim keys."""
    entries, _ = await store.get_prefix(keys.SUBNETS)
    return {e.value.decode(): subnet_of_key(e.key) for e in entries}


async def check_cluster_cidr(store: EtcdStore, cidr: ipaddress.IPv4Network) -> None:
    """Raise `SubnetError` when a node already holds a subnet outside `cidr`."""
    check_inside(cidr, await held_subnets(store))


class SubnetClaims:
    """This replica's copy of the subnet claims, and the claims it is committing."""

    def __init__(self, store: EtcdStore, cidr: ipaddress.IPv4Network) -> None:
        self._store = store
        self.cidr = cidr
        self.held = HeldSubnets()  # as etcd has them, as far as this replica knows
        self.claiming = HeldSubnets()  # registrations under way on this replica
        self.synced = asyncio.Event()

    async def run(self) -> None:
        """Read the claims, then follow their watch; on any break, read them again after
        a bounded backoff (registrations read etcd meanwhile)."""
        failures = 0
        while True:
            try:
                await self._load_and_follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: read everything again
                failures = 1 if self.synced.is_set() else failures + 1
                self.synced.clear()
                log.warning("subnet claims: the watch broke (%s); reading them again",
                            type(exc).__name__)
                await asyncio.sleep(min(2.0, 0.2 * 2 ** (failures - 1)))

    async def _load_and_follow(self) -> None:
        entries, revision = await self._store.get_prefix(keys.SUBNETS)
        held = HeldSubnets()
        for e in entries:
            held.set(subnet_of_key(e.key), e.value.decode())
        self.held = held
        self.synced.set()
        async for change in self._store.watch_prefix(keys.SUBNETS,
                                                     start_revision=revision + 1):
            self._apply(change.key, change.value)

    def _apply(self, key: str, value: bytes | None) -> None:
        subnet = subnet_of_key(key)
        if value is None:
            self.held.drop(subnet)
        else:
            self.held.set(subnet, value.decode())

    async def _current(self) -> HeldSubnets:
        """The claims to choose from: the copy once it is in sync, else etcd's."""
        if self.synced.is_set():
            return self.held
        return HeldSubnets(await held_subnets(self._store))

    async def claim_for(self, node: objects_pb2.Node, desc: objects_pb2.NodeDescription,
                        commit: Commit) -> str:
        """Give `node` its subnet and put the compare on its claim (and the claim itself,
        for a new one) into `commit`; returns a subnet it now counts as being claimed,
        to pass to `done` once the commit is over ("" when nothing new is claimed).

        A node keeps the subnet it holds. A node whose claim was lost takes its old
        subnet back if that is free, else a new one. Raises `SubnetError` (exhausted
        CIDR, overlapping address or override)."""
        held = await self._current()
        name = desc.name
        mine = held.of(name)
        if mine and node.subnet in ("", mine):
            node.subnet = mine
            commit.expect_value[keys.subnet_key(claim_name(mine))] = name.encode()
            return ""
        want = node.subnet
        if not want or self._taken(held, want, name):
            want = allocate_new(self.cidr, [held, self.claiming], name, address=desc.address,
                                requested=desc.container_subnet)
        node.subnet = want
        key = keys.subnet_key(claim_name(want))
        commit.expect[key] = 0
        commit.puts[key] = name.encode()
        self.claiming.set(want, name)
        return want

    def _taken(self, held: HeldSubnets, subnet: str, name: str) -> bool:
        """Whether another node holds or is claiming `subnet` (a lost claim's old subnet,
        which the node takes back only if it is still free)."""
        return any(h.owner(subnet) not in (None, name) for h in (held, self.claiming))

    def done(self, subnet: str, name: str, *, committed: bool) -> None:
        """The commit that claimed `subnet` for `name` is over; when it succeeded, the
        claim counts as held at once (its watch event may come later)."""
        if not subnet:
            return
        if self.claiming.owner(subnet) == name:
            self.claiming.drop(subnet)
        if committed:
            self.held.set(subnet, name)

    async def refresh(self, claim_keys: Iterable[str]) -> None:
        """A commit that relied on these claim keys failed: read them again, so the next
        attempt does not choose from the same stale copy."""
        for key in claim_keys:
            if not key.startswith(keys.SUBNETS):
                continue
            entry = await self._store.get(key)
            self._apply(key, entry.value if entry is not None else None)
