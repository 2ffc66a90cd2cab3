"""The agent's network decisions: host-gw or VXLAN per peer, and the diff to apply."""

from __future__ import annotations

import pytest

from dockyard.agent.network.manager import SetupError, check_overlap
from dockyard.agent.network.plan import (
    VXLAN_DEVICE,
    FdbEntry,
    Mode,
    NeighEntry,
    PeerInfo,
    RouteEntry,
    choose,
    desired,
    diff,
    gateway_of,
    vtep_mac,
)

LAN = ["10.213.0.0/24"]
NEAR = PeerInfo("h2", "10.213.0.12", "10.214.2.0/24")
FAR = PeerInfo("h3", "10.213.1.13", "10.214.3.0/24")


def test_gateway_is_the_first_address() -> None:
    assert gateway_of("10.214.7.0/24") == "10.214.7.1"


def test_vtep_mac_is_unique_per_subnet_and_locally_administered() -> None:
    assert vtep_mac("10.214.3.0/24") == "02:00:0a:d6:03:00"
    macs = {vtep_mac(f"10.214.{i}.0/24") for i in range(256)}
    assert len(macs) == 256
    assert all(int(m[:2], 16) & 0b10 and not int(m[:2], 16) & 1 for m in macs)


def test_peer_on_the_segment_gets_host_gw_else_vxlan() -> None:
    assert choose(NEAR, LAN, Mode.AUTO) is Mode.HOST_GW
    assert choose(FAR, LAN, Mode.AUTO) is Mode.VXLAN
    assert choose(NEAR, LAN, Mode.VXLAN) is Mode.VXLAN
    assert choose(FAR, LAN, Mode.HOST_GW) is Mode.HOST_GW


def test_desired_routes_fdb_and_neighbours() -> None:
    plan = desired([NEAR, FAR], local_nets=LAN, lan_device="eth0", source="10.214.1.1")
    assert plan.routes == {
        RouteEntry("10.214.2.0/24", "10.213.0.12", "eth0", source="10.214.1.1"),
        RouteEntry("10.214.3.0/24", "10.214.3.0", VXLAN_DEVICE, onlink=True,
                   source="10.214.1.1"),
    }
    assert plan.fdb == {FdbEntry("02:00:0a:d6:03:00", "10.213.1.13")}
    assert plan.neighbours == {NeighEntry("10.214.3.0", "02:00:0a:d6:03:00")}
    assert plan.needs_vxlan


def test_host_gw_only_needs_no_vxlan() -> None:
    plan = desired([NEAR], local_nets=LAN, lan_device="eth0")
    assert not plan.fdb and not plan.neighbours and not plan.needs_vxlan


def test_gone_peer_is_removed_and_new_peer_added() -> None:
    before = desired([NEAR, FAR], local_nets=LAN, lan_device="eth0")
    after = desired([FAR, PeerInfo("h4", "10.213.0.14", "10.214.4.0/24")], local_nets=LAN,
                    lan_device="eth0")
    d = diff(after.routes, before.routes)
    assert [r.dst for r in d.add] == ["10.214.4.0/24"]
    assert [r.dst for r in d.remove] == ["10.214.2.0/24"]
    assert diff(after.fdb, before.fdb).empty


def test_moved_peer_is_replaced() -> None:
    before = desired([NEAR], local_nets=LAN, lan_device="eth0")
    moved = PeerInfo("h2", "10.213.0.99", "10.214.2.0/24")
    d = diff(desired([moved], local_nets=LAN, lan_device="eth0").routes, before.routes)
    assert [r.gateway for r in d.add] == ["10.213.0.99"]
    assert [r.gateway for r in d.remove] == ["10.213.0.12"]


def test_same_table_is_no_change() -> None:
    plan = desired([NEAR, FAR], local_nets=LAN, lan_device="eth0")
    assert diff(plan.routes, set(plan.routes)).empty


def test_cluster_cidr_overlapping_a_host_network_is_refused() -> None:
    check_overlap("10.214.1.0/24", "10.214.0.0/16",
                  [("eth0", "10.213.0.0/24"), ("dockyard0", "10.214.1.0/24"),
                   ("lo", "127.0.0.0/8")])
    with pytest.raises(SetupError, match=r"overlaps this host's network 10\.214\.9\.0/24 on eth1"):
        check_overlap("10.214.1.0/24", "10.214.0.0/16", [("eth1", "10.214.9.0/24")])
