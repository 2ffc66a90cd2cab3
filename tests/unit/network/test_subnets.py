"""Node subnet allocation: a pure function of the cluster CIDR and the subnets held."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.network.subnets import (
    SubnetError,
    allocate,
    check_inside,
    claim_name,
    parse_cluster_cidr,
)

CIDR = parse_cluster_cidr("10.214.0.0/16")


def test_first_nodes_get_the_lowest_free_24s_after_the_first() -> None:
    held: dict[str, str] = {}
    for name in ("a", "b", "c"):
        held[name] = allocate(CIDR, held, name)
    assert held == {"a": "10.214.1.0/24", "b": "10.214.2.0/24", "c": "10.214.3.0/24"}


def test_a_node_keeps_its_subnet() -> None:
    held = {"a": "10.214.7.0/24", "b": "10.214.1.0/24"}
    assert allocate(CIDR, held, "a") == "10.214.7.0/24"


def test_a_freed_subnet_is_reused() -> None:
    held = {"a": "10.214.1.0/24", "c": "10.214.3.0/24"}
    assert allocate(CIDR, held, "d") == "10.214.2.0/24"


def test_exhausted_cidr_names_the_node() -> None:
    small = parse_cluster_cidr("10.9.0.0/23")
    held = {"a": allocate(small, {}, "a")}
    with pytest.raises(SubnetError, match=r"exhausted.*node b"):
        allocate(small, held, "b")


def test_address_inside_the_cidr_is_refused() -> None:
    with pytest.raises(SubnetError, match=r"node h1.s address 10\.214\.9\.4 lies inside"):
        allocate(CIDR, {}, "h1", address="10.214.9.4")


def test_override_must_be_free_and_inside() -> None:
    assert allocate(CIDR, {}, "a", requested="10.214.40.0/24") == "10.214.40.0/24"
    with pytest.raises(SubnetError, match="outside the cluster CIDR"):
        allocate(CIDR, {}, "a", requested="10.99.0.0/24")
    with pytest.raises(SubnetError, match=r"overlaps 10\.214\.40\.0/24"):
        allocate(CIDR, {"b": "10.214.40.0/24"}, "a", requested="10.214.40.0/24")
    with pytest.raises(SubnetError, match="bad subnet"):
        allocate(CIDR, {}, "a", requested="10.214.40.1/24")


@pytest.mark.parametrize(
    ("text", "match"),
    [("nonsense", "bad cluster CIDR"), ("10.214.0.1/16", "bad cluster CIDR"),
     ("10.214.0.0/24", "too small"), ("fd00::/64", "bad cluster CIDR")],
)
def test_bad_cluster_cidr_is_one_line(text: str, match: str) -> None:
    with pytest.raises(SubnetError, match=match) as exc:
        parse_cluster_cidr(text)
    assert "\n" not in str(exc.value)


def test_changed_cidr_that_drops_a_node_is_refused() -> None:
    check_inside(CIDR, {"a": "10.214.1.0/24"})
    with pytest.raises(SubnetError, match=r"node a.s subnet 10\.214\.1\.0/24"):
        check_inside(parse_cluster_cidr("10.50.0.0/16"), {"a": "10.214.1.0/24"})


def test_claim_name_has_no_slash() -> None:
    assert claim_name("10.214.3.0/24") == "10.214.3.0-24"


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.integers(min_value=18, max_value=23),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=80),
)
def test_subnets_never_overlap_and_stay_inside(prefix: int, ops: list[tuple[bool, int]]) -> None:
    cidr = parse_cluster_cidr(f"10.214.0.0/{prefix}")
    capacity = 2 ** (24 - prefix) - 1
    held: dict[str, str] = {}
    for add, n in ops:
        name = f"n{n}"
        if not add:
            held.pop(name, None)
            continue
        before = held.get(name)
        try:
            got = allocate(cidr, held, name)
        except SubnetError:
            assert len(held) == capacity and name not in held
            continue
        assert before in (None, got)
        held[name] = got
    nets = [ipaddress.IPv4Network(s) for s in held.values()]
    assert all(n.subnet_of(cidr) and n.prefixlen == 24 for n in nets)
    assert len(set(nets)) == len(nets)
