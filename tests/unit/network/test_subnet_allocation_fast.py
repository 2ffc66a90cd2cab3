"""The subnet allocator's fast path against the plain search it replaced: the same
lowest free /24 for any set of held subnets, of any size, in a small cluster CIDR."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from dockyard.controlplane.network.subnets import SubnetError, allocate

CIDR = ipaddress.IPv4Network("10.214.0.0/20")  # 16 /24s: exhaustion is reachable


def plain_search(held: dict[str, str]) -> str | None:
    taken = [ipaddress.IPv4Network(s) for s in held.values()]
    subnets = list(CIDR.subnets(new_prefix=24))[1:]
    return next((str(c) for c in subnets if not any(c.overlaps(t) for t in taken)), None)


subnet = st.builds(lambda third, prefix: str(ipaddress.IPv4Network(
    (int(ipaddress.IPv4Address("10.214.0.0")) + third * 256, prefix), strict=False)),
    st.integers(0, 17), st.sampled_from([22, 23, 24, 25]))


@given(st.lists(subnet, max_size=20))
def test_the_lowest_free_subnet_is_the_one_a_plain_search_finds(taken: list[str]) -> None:
    held = {f"n{i}": s for i, s in enumerate(taken)}
    want = plain_search(held)
    try:
        got: str | None = allocate(CIDR, held, "new")
    except SubnetError:
        got = None
    assert got == want
