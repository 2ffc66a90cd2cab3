"""The agent's firewall rules (found by their comment) and its upstream DNS settings."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.rcode
import pytest

from dockyard.agent.dns import host_upstreams, parse_resolv_conf, parse_upstreams
from dockyard.agent.dnsnames import is_ours
from dockyard.agent.network import firewall
from dockyard.deploy.testbed import upstream_dns


def test_owned_finds_only_our_rules_in_a_listing() -> None:
    listing = "\n".join([
        "-N DOCKER-USER",
        "-A DOCKER-USER -m comment --comment dockyard-network -j DOCKYARD-FORWARD",
        "-A DOCKER-USER -j RETURN",
        '-A DOCKER-USER -s 10.1.0.0/16 -m comment --comment "someone else" -j ACCEPT',
    ])
    found = firewall.owned("filter", "DOCKER-USER", listing)
    assert found == [firewall.wanted()[3]]


def test_resolv_conf_nameservers() -> None:
    text = "# generated\nsearch example\nnameserver 10.0.0.2\nnameserver 10.0.0.3 # two\noptions x"
    assert parse_resolv_conf(text) == ["10.0.0.2", "10.0.0.3"]


def test_systemd_resolved_stub_is_replaced_by_its_upstreams(tmp_path: Path) -> None:
    stub = tmp_path / "resolv.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0\n")
    real = tmp_path / "real.conf"
    real.write_text("nameserver 192.168.7.1\nnameserver fe80::1\n")
    assert host_upstreams(stub, real) == [("192.168.7.1", 53)]
    assert host_upstreams(stub, tmp_path / "missing") == [("127.0.0.53", 53)]
    assert host_upstreams(tmp_path / "none", real) == []


def test_upstream_flag() -> None:
    assert parse_upstreams("10.0.0.2, 10.0.0.3:5353") == [("10.0.0.2", 53), ("10.0.0.3", 5353)]
    with pytest.raises(ValueError, match="bad DNS upstream"):
        parse_upstreams("resolver.example")


def test_ours_is_the_zone_and_the_table() -> None:
    table = {"db.shop.dockyard.": ["10.214.1.5"]}
    assert is_ours("db.shop.dockyard.", table)
    assert is_ours("nope.shop.dockyard.", table)
    assert not is_ours("registry.testbed.", table)


def test_testbed_upstream_answers_its_names_and_refuses_others() -> None:
    records = upstream_dns.parse_records(["registry.testbed=10.213.0.1"])
    q = dns.message.make_query("registry.testbed", "A")
    out = upstream_dns.answer(q.to_wire(), records)
    assert out is not None
    resp = dns.message.from_wire(out)
    assert [r.to_text() for r in resp.answer[0]] == ["10.213.0.1"]
    out = upstream_dns.answer(dns.message.make_query("elsewhere.example", "A").to_wire(), records)
    assert out is not None and dns.message.from_wire(out).rcode() == dns.rcode.REFUSED
