"""Resources arithmetic, constraint parsing (good and bad) and constraint evaluation."""

from __future__ import annotations

import pytest
from scheduler_builders import node

from dockyard.scheduler import Constraint, Resources, parse_constraint
from dockyard.scheduler.constraints import constraint_holds, node_value


def test_resources_arithmetic() -> None:
    a = Resources(cpu_millis=1500, memory_bytes=100)
    b = Resources(cpu_millis=500, memory_bytes=40)
    assert a + b == Resources(cpu_millis=2000, memory_bytes=140)
    assert a - b == Resources(cpu_millis=1000, memory_bytes=60)
    assert b * 3 == Resources(cpu_millis=1500, memory_bytes=120)


@pytest.mark.parametrize(
    ("small", "big", "fits"),
    [
        ((1, 1), (1, 1), True),
        ((0, 0), (0, 0), True),
        ((2, 1), (1, 1), False),
        ((1, 2), (1, 1), False),
        ((1, 1), (5, 5), True),
    ],
)
def test_fits_in(small: tuple[int, int], big: tuple[int, int], fits: bool) -> None:
    assert (
        Resources(cpu_millis=small[0], memory_bytes=small[1]).fits_in(
            Resources(cpu_millis=big[0], memory_bytes=big[1])
        )
        is fits
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("node.hostname==x", Constraint("node.hostname", "==", "x")),
        ("node.labels.zone != b", Constraint("node.labels.zone", "!=", "b")),
        ("  node.labels.zone==b  ", Constraint("node.labels.zone", "==", "b")),
        ("node.labels.disk==ssd", Constraint("node.labels.disk", "==", "ssd")),
        (
            "node.labels.topology.k8s/zone==eu-1",
            Constraint("node.labels.topology.k8s/zone", "==", "eu-1"),
        ),
        ("node.hostname!=host-1.example", Constraint("node.hostname", "!=", "host-1.example")),
    ],
)
def test_parse_good(text: str, expected: Constraint) -> None:
    assert parse_constraint(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node.hostname", "expected KEY==VALUE"),
        ("node.hostname=x", "expected KEY==VALUE"),
        ("==x", "missing key"),
        ("node.hostname==", "missing value"),
        ("node.hostname== ", "missing value"),
        ("node.role==manager", "key must be node.hostname or node.labels.NAME"),
        ("node.labels.==b", "bad label name"),
        ("node.labels.zone==a==b", "not a single word"),
        ("node.labels.zone==a b", "not a single word"),
        ("node labels.zone==a", "contains spaces"),
        ("node.labels.zone==a\nnode.hostname==b", "one line"),
        ("", "expected KEY==VALUE"),
    ],
)
def test_parse_bad(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_constraint(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "labels", "holds"),
    [
        ("node.hostname==n1", {}, True),
        ("node.hostname==n2", {}, False),
        ("node.hostname!=n2", {}, True),
        ("node.labels.zone==b", {"zone": "b"}, True),
        ("node.labels.zone==b", {"zone": "a"}, False),
        ("node.labels.zone==b", {}, False),
        ("node.labels.zone!=b", {}, True),
        ("node.labels.zone!=b", {"zone": "b"}, False),
    ],
)
def test_constraint_holds(text: str, labels: dict[str, str], holds: bool) -> None:
    assert (
        constraint_holds(constraint=parse_constraint(text), node=node("n1", labels=labels)) is holds
    )


def test_node_value() -> None:
    assert node_value(key="node.labels.zone", name="n1", labels={"zone": "a"}) == "a"
    assert node_value(key="node.labels.rack", name="n1", labels={}) is None
    assert node_value(key="node.hostname", name="n1", labels={}) == "n1"
    assert node_value(key="engine.labels.x", name="n1", labels={}) is None


def test_unknown_operator_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        constraint_holds(constraint=Constraint("node.hostname", "~=", "x"), node=node())
