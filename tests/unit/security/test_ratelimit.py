"""Join attempts per source address: token buckets with a fake clock."""

from __future__ import annotations

import pytest

from dockyard.controlplane.security.ratelimit import SourceBuckets, parse_rate, source_address


def test_a_burst_then_one_per_refill() -> None:
    b = SourceBuckets(rate_per_s=2, burst=3)
    assert [b.take("10.0.0.1", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("10.0.0.1", 0.0) == pytest.approx(0.5)
    assert b.take("10.0.0.2", 0.0) == 0.0  # another address has its own bucket
    assert b.take("10.0.0.1", 0.5) == 0.0
    assert b.take("10.0.0.1", 0.5) > 0
    assert b.take("10.0.0.1", 100.0) == 0.0  # refilled, never beyond the burst
    assert [b.take("10.0.0.1", 100.0) for _ in range(3)].count(0.0) == 2


def test_memory_is_bounded_and_the_longest_unused_is_forgotten() -> None:
    b = SourceBuckets(rate_per_s=1, burst=1, max_sources=100)
    b.take("keep", 0.0)
    for i in range(1000):
        b.take(f"10.1.{i // 256}.{i % 256}", 0.0)
        if i % 50 == 0:
            b.take("keep", 0.0)
    assert len(b) == 100
    assert b.take("keep", 0.0) > 0  # still remembered: still empty


def test_source_address_and_rate_parsing() -> None:
    assert source_address("ipv4:10.0.0.5:51234") == "10.0.0.5"
    assert source_address("ipv6:[::1]:51234") == "::1"
    assert source_address("unix:/run/x") == "unix:/run/x"
    assert parse_rate("2/20") == (2.0, 20.0)
    assert parse_rate("5") == (5.0, 50.0)
    for bad in ("x", "0", "1/0", "-1/5"):
        with pytest.raises(ValueError, match="bad join rate"):
            parse_rate(bad)
