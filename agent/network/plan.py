"""Pure network decisions: which route, FDB and neighbour entries this node wants.

Everything here is a purely computational function of the node table; `links.py` reads
what is present and applies the difference. Keeping the decisions pure lets the unit
tests cover every case (peer added, moved, gone; host-gw against VXLAN) without a kernel.

The VXLAN device's MAC is derived from the node's subnet (`vtep_mac`), so a peer's MAC is
known from the node table alone: nothing else needs to travel between agents.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

BRIDGE_NAME = "dockyard0"
VXLAN_DEVICE = "dockyard.vx"
VXLAN_ID = 214
VXLAN_PORT = 4789
# Routing protocol number stamped on the agent's routes, so it finds (and removes) its
# own and never touches anyone else's. Values above 200 are free for local use.
ROUTE_PROTO = 214
VXLAN_OVERHEAD = 50


class Mode(Enum):
    AUTO = "auto"
    HOST_GW = "host-gw"
    VXLAN = "vxlan"


@dataclass(frozen=True, order=True)
class PeerInfo:
    name: str
    address: str
    subnet: str


@dataclass(frozen=True, order=True)
class RouteEntry:
    """`dst via gateway dev device [onlink] src source`, tagged with ROUTE_PROTO.

    `source` is this node's gateway address: what the host itself sends to other nodes'
    containers leaves from inside the cluster CIDR, so the peer accepts it unmasqueraded.
    """

    dst: str
    gateway: str
    device: str
    onlink: bool = False
    source: str = ""


@dataclass(frozen=True, order=True)
class FdbEntry:
    """The VXLAN device sends frames for `mac` to the peer at `dst`."""

    mac: str
    dst: str


@dataclass(frozen=True, order=True)
class NeighEntry:
    """On the VXLAN device, `ip` (the peer's subnet address) is at `mac`."""

    ip: str
    mac: str


@dataclass(frozen=True)
class NetPlan:
    routes: frozenset[RouteEntry]
    fdb: frozenset[FdbEntry]
    neighbours: frozenset[NeighEntry]

    @property
    def needs_vxlan(self) -> bool:
        return bool(self.fdb)


def gateway_of(subnet: str) -> str:
    """The first address of a subnet: the bridge's gateway and the agent's DNS. Pure."""
    return str(next(ipaddress.IPv4Network(subnet).hosts()))


def vtep_mac(subnet: str) -> str:
    """The VXLAN MAC of the node holding `subnet`: locally administered, unique per
    subnet (02:00 then the four bytes of its network address). Pure."""
    octets = ipaddress.IPv4Network(subnet).network_address.packed
    return ":".join(f"{b:02x}" for b in (2, 0, *octets))


def same_segment(address: str, local_nets: Iterable[str]) -> bool:
    """True when `address` lies in one of this host's directly connected networks. Pure."""
    ip = ipaddress.IPv4Address(address)
    return any(ip in ipaddress.IPv4Network(n, strict=False) for n in local_nets)


def choose(peer: PeerInfo, local_nets: Sequence[str], mode: Mode) -> Mode:
    """host-gw for a peer on this node's L2 segment, VXLAN otherwise, unless forced. Pure."""
    if mode is not Mode.AUTO:
        return mode
    return Mode.HOST_GW if same_segment(peer.address, local_nets) else Mode.VXLAN


def desired(
    peers: Iterable[PeerInfo],
    *,
    local_nets: Sequence[str],
    lan_device: str,
    source: str = "",
    mode: Mode = Mode.AUTO,
) -> NetPlan:
    """The routes, FDB and neighbour entries that reach every peer's subnet. Pure.

    host-gw: `subnet via peer-address dev lan-device`. VXLAN: `subnet via subnet-network
    dev dockyard.vx onlink`, a neighbour entry mapping that address to the peer's VTEP MAC,
    and an FDB entry sending that MAC to the peer's address (as flannel does).
    """
    routes: set[RouteEntry] = set()
    fdb: set[FdbEntry] = set()
    neigh: set[NeighEntry] = set()
    for p in peers:
        if choose(p, local_nets, mode) is Mode.HOST_GW:
            routes.add(RouteEntry(p.subnet, p.address, lan_device, source=source))
            continue
        via = str(ipaddress.IPv4Network(p.subnet).network_address)
        mac = vtep_mac(p.subnet)
        routes.add(RouteEntry(p.subnet, via, VXLAN_DEVICE, onlink=True, source=source))
        neigh.add(NeighEntry(via, mac))
        fdb.add(FdbEntry(mac, p.address))
    return NetPlan(frozenset(routes), frozenset(fdb), frozenset(neigh))


T = TypeVar("T", RouteEntry, FdbEntry, NeighEntry)


@dataclass(frozen=True)
class Diff(Generic[T]):
    add: tuple[T, ...]
    remove: tuple[T, ...]

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove)


def diff(want: Iterable[T], have: Iterable[T]) -> Diff[T]:
    """What to add and what to remove to go from `have` to `want`, sorted. Pure.

    A route to the same destination with another gateway or device is both: removed,
    then added (the apply step replaces it in place).
    """
    w, h = set(want), set(have)
    return Diff(tuple(sorted(w - h)), tuple(sorted(h - w)))
