"""The testbed's two-segment layout (`dev-cluster up --segments 2`): which host sits on
which LAN, and the routes through the router namespace. Pure planning, no system."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.deploy.testbed.layout import ROUTER_OCTET, Route, plan


def test_three_hosts_on_two_segments() -> None:
    lay = plan(3, Path("/tmp/bed"), segments=2)
    assert [(h.name, h.address, h.bridge) for h in lay.hosts] == [
        ("h1", "10.213.0.11", "dyk-br0"), ("h2", "10.213.0.12", "dyk-br0"),
        ("h3", "10.213.1.13", "dyk-br1")]
    assert lay.hosts[0].routes == (Route("10.213.1.0/24", f"10.213.0.{ROUTER_OCTET}", "eth0"),)
    assert lay.hosts[2].routes == (Route("10.213.0.0/24", f"10.213.1.{ROUTER_OCTET}", "eth0"),)
    assert [(leg.bridge, leg.address) for leg in lay.router_legs] == [
        ("dyk-br0", "10.213.0.254"), ("dyk-br1", "10.213.1.254")]
    assert lay.root_routes == (Route("10.213.1.0/24", "10.213.0.254", "dyk-br0"),)


def test_one_segment_is_todays_flat_lan() -> None:
    lay = plan(3, Path("/tmp/bed"))
    assert {h.bridge for h in lay.hosts} == {"dyk-br0"}
    assert all(h.routes == () for h in lay.hosts)
    assert lay.router_legs == () and lay.root_routes == ()


def test_more_segments_than_hosts_is_refused() -> None:
    with pytest.raises(ValueError, match="segments must be between 1 and 2"):
        plan(2, Path("/tmp/bed"), segments=3)
