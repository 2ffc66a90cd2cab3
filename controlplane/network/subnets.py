"""Node subnets: every node gets a /24 of the cluster CIDR at its first registration.

The allocation is a pure function of the cluster CIDR and the subnets already held, so
Register (controlplane/api/certificates.py) can compute it, then claim it in etcd with a
create-only key (`/dockyard/subnets/<a.b.c.d-24>`) in the same transaction as the node:
two nodes registering at once can never get the same subnet; the loser recomputes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

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
    taken = {ipaddress.IPv4Network(s) for s in held.values()}
    if requested:
        return _requested(cidr, taken, node, requested)
    free = _lowest_free(cidr, taken)
    if free is not None:
        return str(free)
    raise SubnetError(
        f"cluster CIDR {cidr} is exhausted: no free /{NODE_PREFIX} for node {node} "
        f"({len(taken)} nodes hold subnets); remove nodes or use a larger --cluster-cidr"
    )


def _lowest_free(
    cidr: ipaddress.IPv4Network, taken: set[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network | None:
    """The lowest /24 of `cidr` but the first that overlaps nothing in `taken`. Pure.

    Linear in the nodes, on integers: a thousand nodes joining at once each pay for one
    pass over the held subnets, not for one comparison per candidate and held pair."""
    size = 1 << (32 - NODE_PREFIX)
    start, end = int(cidr.network_address), int(cidr.broadcast_address) + 1
    used: set[int] = set()
    for t in taken:
        first = int(t.network_address) - int(t.network_address) % size
        used.update(range(first, int(t.broadcast_address) + 1, size))
    for base in range(start + size, end, size):  # the first /24 is left out
        if base not in used:
            return ipaddress.IPv4Network((base, NODE_PREFIX))
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
