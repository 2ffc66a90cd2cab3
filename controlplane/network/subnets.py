"""Node subnets: every node gets a /24 of the cluster CIDR at its first registration.

The allocation is a pure function of the cluster CIDR and the subnets already held, so
Register (controlplane/api/certificates.py) can compute it, then claim it in etcd with a
create-only key (`/dockyard/subnets/<a.b.c.d-24>`) in the same transaction as the node:
two nodes registering at once can never get the same subnet; the loser recomputes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

DEFAULT_CLUSTER_CIDR = "10.214.0.0/16"
NODE_PREFIX = 24


class SubnetError(ValueError):
    """A cluster CIDR or node subnet that cannot work, in one line."""


def parse_cluster_cidr(text: str) -> ipaddress.IPv4Network:
    """The cluster CIDR, checked: IPv4, room for at least two node /24s. Pure."""
    try:
        net = ipaddress.IPv4Network(text.strip(), strict=True)
    except ValueError as exc:
        raise SubnetError(f"bad cluster CIDR {text!r}: {exc}") from None
    if net.prefixlen > NODE_PREFIX - 1:
        raise SubnetError(
            f"cluster CIDR {net} is too small: it must hold at least two /{NODE_PREFIX} "
            f"node subnets (use /{NODE_PREFIX - 1} or larger, e.g. {DEFAULT_CLUSTER_CIDR})"
        )
    return net


def claim_name(subnet: str) -> str:
    """The etcd key suffix naming a subnet: 10.214.3.0/24 -> 10.214.3.0-24. Pure."""
    return subnet.replace("/", "-")


def check_inside(cidr: ipaddress.IPv4Network, held: Mapping[str, str]) -> None:
    """Raise when a node holds a subnet outside `cidr` (the CIDR changed under it). Pure."""
    for node, subnet in sorted(held.items()):
        if not ipaddress.IPv4Network(subnet).subnet_of(cidr):
            raise SubnetError(
                f"cluster CIDR {cidr} does not hold node {node}'s subnet {subnet}; "
                f"start the server with the cluster CIDR the nodes were given"
            )


class HeldSubnets:
    """Subnets held by nodes, keyed by subnet (a claim), with the /24s each covers
    counted: finding the lowest free /24 is then a walk over integers, not a parse of
    every held subnet for every node that joins. Pure: a plain data structure."""

    def __init__(self, held: Mapping[str, str] | None = None) -> None:
        self._owner: dict[str, str] = {}  # subnet -> node
        self._by_node: dict[str, set[str]] = {}
        self._covered: dict[int, int] = {}  # /24 base -> how many held subnets cover it
        # Walks already made: from a /24 base, the first one found not covered. Every
        # /24 between is covered until a subnet is dropped (then this is forgotten).
        self._walked: dict[int, int] = {}
        for node, subnet in (held or {}).items():
            self.set(subnet, node)

    def __len__(self) -> int:
        return len(self._owner)

    def owner(self, subnet: str) -> str | None:
        return self._owner.get(subnet)

    def of(self, node: str) -> str | None:
        """The subnet `node` holds (the lowest, should it hold more than one)."""
        mine = self._by_node.get(node)
        return min(mine, key=_sort_key) if mine else None

    def set(self, subnet: str, node: str) -> None:
        """`node` holds `subnet` (whoever held it before no longer does)."""
        self.drop(subnet)
        self._owner[subnet] = node
        self._by_node.setdefault(node, set()).add(subnet)
        for base in _bases(subnet):
            self._covered[base] = self._covered.get(base, 0) + 1

    def drop(self, subnet: str) -> None:
        """Nobody holds `subnet` any more."""
        node = self._owner.pop(subnet, None)
        if node is None:
            return
        self._walked.clear()
        mine = self._by_node[node]
        mine.discard(subnet)
        if not mine:
            del self._by_node[node]
        for base in _bases(subnet):
            left = self._covered[base] - 1
            if left:
                self._covered[base] = left
            else:
                del self._covered[base]

    def subnets(self) -> list[str]:
        return list(self._owner)

    def covers(self, base: int) -> bool:
        """Whether a held subnet overlaps the /24 starting at address `base`."""
        return base in self._covered

    def uncovered_from(self, base: int) -> int:
        """The first /24 base at or above `base` (a /24 base) that no held subnet
        overlaps. The walk is remembered, so nodes joining one after another each
        step over the /24s taken since the last, not over every held one."""
        size = 1 << (32 - NODE_PREFIX)
        found = self._walked.get(base, base)
        while found in self._covered:
            found += size
        if len(self._walked) >= 64:
            self._walked.clear()
        self._walked[base] = found
        return found

    def by_node(self) -> dict[str, str]:
        """Node -> subnet, for the checks that want every claim."""
        return {node: self.of(node) or "" for node in self._by_node}


def _bases(subnet: str) -> range:
    """The /24 bases (as integers) that `subnet` overlaps. Pure."""
    net = ipaddress.IPv4Network(subnet)
    size = 1 << (32 - NODE_PREFIX)
    first = int(net.network_address) - int(net.network_address) % size
    return range(first, int(net.broadcast_address) + 1, size)


def _sort_key(subnet: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(subnet)
    return int(net.network_address), net.prefixlen


def allocate(
    cidr: ipaddress.IPv4Network,
    held: Mapping[str, str],
    node: str,
    *,
    address: str = "",
    requested: str = "",
) -> str:
    """The subnet `node` should have. Pure.

    `held` maps every node that has a subnet to it. A node keeps the one it holds; else
    it gets `requested` (an operator's override) if that is a free /24 inside `cidr`,
    else the lowest free /24, skipping the first (its .0 network would make the first
    node's gateway the CIDR's own network address on some tools) and any subnet that
    contains the node's own `address`.
    """
    if node in held:
        return held[node]
    return allocate_new(cidr, [HeldSubnets(held)], node, address=address,
                        requested=requested)


def allocate_new(
    cidr: ipaddress.IPv4Network,
    held: Sequence[HeldSubnets],
    node: str,
    *,
    address: str = "",
    requested: str = "",
) -> str:
    """A subnet for `node`, which holds none, that overlaps nothing in any of `held`:
    as `allocate` chooses, without reading every held subnet. Pure."""
    if address:
        try:
            inside = ipaddress.IPv4Address(address) in cidr
        except ValueError:
            inside = False
        if inside:
            raise SubnetError(
                f"node {node}'s address {address} lies inside the cluster CIDR {cidr}; "
                f"choose a --cluster-cidr that no host address overlaps"
            )
    if requested:
        taken = {ipaddress.IPv4Network(s) for h in held for s in h.subnets()}
        return _requested(cidr, taken, node, requested)
    free = _lowest_free(cidr, held)
    if free is not None:
        return str(free)
    count = sum(len(h) for h in held)
    raise SubnetError(
        f"cluster CIDR {cidr} is exhausted: no free /{NODE_PREFIX} for node {node} "
        f"({count} nodes hold subnets); remove nodes or use a larger --cluster-cidr"
    )


def _lowest_free(
    cidr: ipaddress.IPv4Network, held: Sequence[HeldSubnets]
) -> ipaddress.IPv4Network | None:
    """The lowest /24 of `cidr` but the first that no held subnet overlaps. No I/O; the
    answer depends on the arguments alone, though the walk updates the held sets' memo.

    A walk over integers, nothing parsed, and each set of held subnets remembers how
    far its last walk got: a thousand nodes joining at once do not each walk over the
    hundreds of /24s taken before them (that was half a second of the server's time)."""
    size = 1 << (32 - NODE_PREFIX)
    start, end = int(cidr.network_address), int(cidr.broadcast_address) + 1
    base = start + size  # the first /24 is left out
    while base < end:
        found = base
        for h in held:
            found = h.uncovered_from(found)
        if found == base:
            return ipaddress.IPv4Network((base, NODE_PREFIX))
        base = found
    return None


def _requested(
    cidr: ipaddress.IPv4Network, taken: set[ipaddress.IPv4Network], node: str, text: str
) -> str:
    try:
        want = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise SubnetError(f"node {node} asked for a bad subnet {text!r}: {exc}") from None
    if not want.subnet_of(cidr):
        raise SubnetError(f"node {node} asked for {want}, outside the cluster CIDR {cidr}")
    clash = next((t for t in sorted(taken) if want.overlaps(t)), None)
    if clash is not None:
        raise SubnetError(f"node {node} asked for {want}, which overlaps {clash}, in use")
    return str(want)
