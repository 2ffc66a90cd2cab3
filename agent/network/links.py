"""Links, routes, FDB and neighbour entries through netlink (pyroute2), never `ip`.

Every function reads what is present and changes only what differs, so calling them
again (after an agent restart, or on every node-table message) is cheap and safe. The
agent's routes carry ROUTE_PROTO, which is how it tells its own from anyone else's.
All calls block: the manager runs them in a worker thread.
"""

from __future__ import annotations

import errno
import ipaddress
import logging

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard.agent.network.plan import (
    ROUTE_PROTO,
    VXLAN_DEVICE,
    VXLAN_ID,
    VXLAN_OVERHEAD,
    VXLAN_PORT,
    FdbEntry,
    NeighEntry,
    NetPlan,
    RouteEntry,
    diff,
    vtep_mac,
)

log = logging.getLogger("dockyard.agent.network")

NUD_PERMANENT = 0x80
RTNH_F_ONLINK = 4
AF_INET = 2


class NetworkError(Exception):
    """A netlink change failed, in one line."""


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _name(ipr: IPRoute, index: int) -> str:
    links = ipr.get_links(index)
    return str(links[0].get("ifname")) if links else ""


def lan_of(ipr: IPRoute, address: str) -> tuple[str, int, list[str]]:
    """The device holding `address`, its MTU, and every directly connected IPv4 network
    of the host (except the agent's own bridge and VXLAN device)."""
    device, mtu = "", 1500
    nets: list[str] = []
    for a in ipr.get_addr(family=AF_INET):
        ifname = _name(ipr, a["index"])
        if ifname in (VXLAN_DEVICE, "lo") or ifname.startswith("dockyard"):
            continue
        ip = str(a.get("address"))
        nets.append(str(ipaddress.IPv4Interface(f"{ip}/{a['prefixlen']}").network))
        if ip == address:
            device = ifname
            link = ipr.get_links(a["index"])
            mtu = int(link[0].get("mtu") or 1500) if link else 1500
    if not device:
        raise NetworkError(f"no interface of this host has the node address {address}")
    return device, mtu, nets


def host_networks(ipr: IPRoute) -> list[tuple[str, str]]:
    """(device, network) of every IPv4 address of the host."""
    return [
        (_name(ipr, a["index"]),
         str(ipaddress.IPv4Interface(f"{a.get('address')}/{a['prefixlen']}").network))
        for a in ipr.get_addr(family=AF_INET)
    ]


def ensure_vxlan(ipr: IPRoute, *, subnet: str, local: str, lan_mtu: int) -> int:
    """The VXLAN device with this node's VTEP MAC and local address; re-made if different."""
    mac = vtep_mac(subnet)
    idx = _index(ipr, VXLAN_DEVICE)
    if idx is not None:
        link = ipr.get_links(idx)[0]
        info = link.get(("IFLA_LINKINFO", "IFLA_INFO_DATA")) or {}
        same = (str(link.get("address")) == mac
                and str(info.get("IFLA_VXLAN_LOCAL") or local) == local)
        if not same:
            ipr.link("del", index=idx)
            idx = None
    if idx is None:
        ipr.link("add", ifname=VXLAN_DEVICE, kind="vxlan", vxlan_id=VXLAN_ID,
                 vxlan_local=local, vxlan_port=VXLAN_PORT, vxlan_learning=0, address=mac)
        idx = _index(ipr, VXLAN_DEVICE)
        if idx is None:
            raise NetworkError(f"could not create {VXLAN_DEVICE}")
        log.info("made %s (vni %d, local %s, mac %s)", VXLAN_DEVICE, VXLAN_ID, local, mac)
    ipr.link("set", index=idx, state="up", mtu=lan_mtu - VXLAN_OVERHEAD)
    return idx


def remove_vxlan(ipr: IPRoute) -> None:
    idx = _index(ipr, VXLAN_DEVICE)
    if idx is not None:
        ipr.link("del", index=idx)


def present_routes(ipr: IPRoute) -> set[RouteEntry]:
    out: set[RouteEntry] = set()
    for r in ipr.get_routes(family=AF_INET, proto=ROUTE_PROTO):
        if r["proto"] != ROUTE_PROTO:
            continue
        out.add(RouteEntry(
            dst=f"{r.get('RTA_DST')}/{r['dst_len']}",
            gateway=str(r.get("RTA_GATEWAY") or ""),
            device=_name(ipr, int(r.get("RTA_OIF") or 0)),
            onlink=bool(r["flags"] & RTNH_F_ONLINK),
            source=str(r.get("RTA_PREFSRC") or ""),
        ))
    return out


def present_fdb(ipr: IPRoute, vx: int) -> set[FdbEntry]:
    return {
        FdbEntry(str(f.get("NDA_LLADDR")), str(f.get("NDA_DST")))
        for f in ipr.fdb("dump", ifindex=vx)
        if f["ifindex"] == vx and f.get("NDA_DST") and f.get("NDA_LLADDR")
    }


def present_neighbours(ipr: IPRoute, vx: int) -> set[NeighEntry]:
    return {
        NeighEntry(str(n.get("NDA_DST")), str(n.get("NDA_LLADDR")))
        for n in ipr.get_neighbours(ifindex=vx, family=AF_INET)
        if n["state"] & NUD_PERMANENT and n.get("NDA_LLADDR")
    }


def _route_args(ipr: IPRoute, r: RouteEntry) -> dict[str, object]:
    oif = _index(ipr, r.device)
    if oif is None:
        raise NetworkError(f"no device {r.device} for the route to {r.dst}")
    args: dict[str, object] = {"dst": r.dst, "gateway": r.gateway, "oif": oif,
                               "proto": ROUTE_PROTO}
    if r.onlink:
        args["flags"] = RTNH_F_ONLINK
    if r.source:
        args["prefsrc"] = r.source
    return args


def apply(ipr: IPRoute, want: NetPlan) -> int:
    """Make the agent's routes, FDB and neighbour entries exactly `want`; returns how
    many entries changed. The VXLAN device must exist when `want` needs it."""
    changed = 0
    vx = _index(ipr, VXLAN_DEVICE)
    if vx is not None:
        fdb = diff(want.fdb, present_fdb(ipr, vx))
        for f in fdb.remove:
            _quiet(lambda f=f: ipr.fdb("del", ifindex=vx, lladdr=f.mac, dst=f.dst))
        for f in fdb.add:
            ipr.fdb("append", ifindex=vx, lladdr=f.mac, dst=f.dst)
        neigh = diff(want.neighbours, present_neighbours(ipr, vx))
        for n in neigh.remove:
            _quiet(lambda n=n: ipr.neigh("del", dst=n.ip, lladdr=n.mac, ifindex=vx))
        for n in neigh.add:
            ipr.neigh("replace", dst=n.ip, lladdr=n.mac, ifindex=vx, state=NUD_PERMANENT)
        changed += len(fdb.add) + len(fdb.remove) + len(neigh.add) + len(neigh.remove)
    routes = diff(want.routes, present_routes(ipr))
    added = {r.dst for r in routes.add}
    for r in routes.remove:
        if r.dst not in added:  # a changed route is replaced in place below
            _quiet(lambda r=r: ipr.route("del", dst=r.dst, proto=ROUTE_PROTO))
    for r in routes.add:
        ipr.route("replace", **_route_args(ipr, r))
    changed += len(routes.add) + len(routes.remove)
    return changed


def _quiet(op: object) -> None:
    """Run a removal; what is already gone is fine."""
    try:
        op()  # type: ignore[operator]
    except NetlinkError as exc:
        if exc.code not in (errno.ENOENT, errno.ESRCH, errno.ENODEV):
            raise
