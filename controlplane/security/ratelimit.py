"""Join attempts per source address: a token bucket each, in bounded memory.

A host joins once; a source address that registers new nodes faster than the bucket
refills is told to wait (RESOURCE_EXHAUSTED with the delay), so a join-token holder cannot
flood etcd with nodes or hammer the name check. At most `max_sources` addresses are
remembered; the one unused longest is forgotten first. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class SourceBuckets:
    def __init__(self, *, rate_per_s: float, burst: float, max_sources: int = 4096) -> None:
        if rate_per_s <= 0 or burst < 1 or max_sources < 1:
            raise ValueError("the join rate needs rate > 0, burst >= 1 and room for a source")
        self.rate = rate_per_s
        self.burst = burst
        self.max_sources = max_sources
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, source: str, now: float) -> float:
        """Spend one token of `source`: 0.0 when allowed, else the seconds until one is
        there (nothing is spent then)."""
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[source] = bucket
            while len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def source_address(peer: str) -> str:
    """The address part of a gRPC peer string ("ipv4:10.0.0.5:51234" -> "10.0.0.5",
    "ipv6:[::1]:51234" -> "::1"); anything else as it is. Pure."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        host = rest.rpartition(":")[0] or rest
        return host.strip("[]")
    return peer


def parse_rate(text: str) -> tuple[float, float]:
    """'RATE' or 'RATE/BURST' (joins per second, and how many at once) as numbers. Pure."""
    rate_s, _, burst_s = text.partition("/")
    try:
        rate = float(rate_s)
        burst = float(burst_s) if burst_s else max(1.0, rate * 10)
    except ValueError:
        raise ValueError(f"bad join rate {text!r} (want RATE or RATE/BURST, e.g. 2/20)") from None
    if rate <= 0 or burst < 1:
        raise ValueError(f"bad join rate {text!r}: the rate must be > 0 and the burst >= 1")
    return rate, burst
