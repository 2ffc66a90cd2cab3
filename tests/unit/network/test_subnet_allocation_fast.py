"""The subnet allocator's fast path, and the claims a replica keeps in memory, against
the plain search they replaced: the same lowest free /24 for any set of held subnets, of
any size, in a small cluster CIDR."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.network.subnets import HeldSubnets, SubnetError, allocate, allocate_new

CIDR = ipaddress.IPv4Network("10.214.0.0/20")  # 16 /24s: exhaustion is reachable


def plain_search(held: dict[str, str]) -> str | None:
    taken = [ipaddress.IPv4Network(s) for s in held.values()]
    subnets = list(CIDR.subnets(new_prefix=24))[1:]
    return next((str(c) for c in subnets if not any(c.overlaps(t) for t in taken)), None)


subnet = st.builds(lambda third, prefix: str(ipaddress.IPv4Network(
    (int(ipaddress.IPv4Address("10.214.0.0")) + third * 256, prefix), strict=False)),
    st.integers(0, 17), st.sampled_from([22, 23, 24, 25]))


@settings(deadline=None)  # no timings in pass/fail tests: the machine is shared
@given(st.lists(subnet, max_size=20))
def test_the_lowest_free_subnet_is_the_one_a_plain_search_finds(taken: list[str]) -> None:
    held = {f"n{i}": s for i, s in enumerate(taken)}
    want = plain_search(held)
    try:
        got: str | None = allocate(CIDR, held, "new")
    except SubnetError:
        got = None
    assert got == want


@settings(deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 9), subnet), max_size=40),
       st.lists(subnet, max_size=5))
def test_subnets_kept_in_memory_choose_as_the_plain_search_over_all_claims(
        ops: list[tuple[bool, int, str]], claiming: list[str]) -> None:
    """Claims set and dropped one by one (as a watch delivers them), plus claims under
    way: the next subnet is the lowest one that none of them overlaps."""
    book = HeldSubnets()
    truth: dict[str, str] = {}  # subnet -> node, as etcd would hold the claim keys
    for put, n, net in ops:
        if put:
            book.set(net, f"n{n}")
            truth[net] = f"n{n}"
        else:
            book.drop(net)
            truth.pop(net, None)
    under_way = HeldSubnets({f"c{i}": s for i, s in enumerate(claiming)})
    assert sorted(book.subnets()) == sorted(truth)
    assert all(book.owner(s) == node for s, node in truth.items())
    everything = {f"{node}@{s}": s for s, node in truth.items()}
    everything |= {f"c{i}": s for i, s in enumerate(claiming)}
    want = plain_search(everything)
    try:
        got: str | None = allocate_new(CIDR, [book, under_way], "new")
    except SubnetError:
        got = None
    assert got == want


def test_a_node_holding_two_claims_is_given_the_lowest() -> None:
    book = HeldSubnets()
    book.set("10.214.9.0/24", "a")
    book.set("10.214.3.0/24", "a")
    assert book.of("a") == "10.214.3.0/24"
    book.drop("10.214.3.0/24")
    assert book.of("a") == "10.214.9.0/24"
    book.set("10.214.9.0/24", "b")  # the claim changed hands
    assert book.of("a") is None and book.of("b") == "10.214.9.0/24"


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["set", "drop", "claim", "settle", "choose"]),
                          st.integers(0, 9), subnet), max_size=60))
def test_nodes_joining_one_after_another_get_what_a_plain_search_finds_each_time(
        ops: list[tuple[str, int, str]]) -> None:
    """The walk each set of claims remembers between joins (claims set and dropped by
    the watch, claims under way added and settled, a subnet chosen in between): every
    choice is still the lowest /24 that nothing held or under way overlaps."""
    book, under_way = HeldSubnets(), HeldSubnets()
    truth: dict[str, str] = {}  # subnet -> owner, held and under way together
    for op, n, net in ops:
        if op == "set":
            book.set(net, f"n{n}")
            truth[net] = f"n{n}"
        elif op == "claim" and book.owner(net) is None:
            under_way.set(net, f"c{n}")
            truth[net] = f"c{n}"
        elif op in ("drop", "settle"):  # a held claim deleted, or one under way over
            mine, other = (book, under_way) if op == "drop" else (under_way, book)
            if mine.subnets():
                net = sorted(mine.subnets())[n % len(mine.subnets())]
                mine.drop(net)
                if other.owner(net) is None:
                    truth.pop(net, None)
        want = plain_search({f"{o}@{s}": s for s, o in truth.items()})
        try:
            got: str | None = allocate_new(CIDR, [book, under_way], "new")
        except SubnetError:
            got = None
        assert got == want, (op, net)
        if op == "choose" and got is not None:  # the chosen one joins
            book.set(got, f"j{n}")
            truth[got] = f"j{n}"
