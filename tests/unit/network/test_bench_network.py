"""make bench-network's pure parts: the app it deploys and how it reads iperf3 and ping."""

from __future__ import annotations

import json

from dockyard.client.compose import load_app
from dockyard.deploy.bench.network import bench_app, parse_iperf_mbit_s, parse_rtt_ms


def test_one_task_pinned_to_each_host_on_one_network() -> None:
    spec = load_app(bench_app("img:1"), read_file=lambda _p: b"", default_name="x").spec
    assert [(s.name, list(s.placement.constraints), list(s.networks)) for s in spec.services] == [
        (h, [f"node.hostname=={h}"], []) for h in ("h1", "h2", "h3")]


def test_reads_iperf3_and_ping() -> None:
    out = json.dumps({"end": {"sum_received": {"bits_per_second": 9.5e9}}})
    assert parse_iperf_mbit_s(out) == 9500.0
    ping = "64 bytes from 10.214.2.2: seq=0 ttl=63 time=0.101 ms\n" \
           "64 bytes from 10.214.2.2: seq=1 ttl=63 time=0.300 ms\n" \
           "64 bytes from 10.214.2.2: seq=2 ttl=63 time=0.120 ms\n"
    assert parse_rtt_ms(ping) == 0.120
