"""`make bench-network`: what the cluster network costs against the hosts' own network.

A two-segment testbed (`up(segments=2)`: h1 and h2 on one L2 segment, h3 behind the
router namespace), so the agents route h1 -> h2 host-gw and h1 -> h3 over VXLAN. For each
pair, the same measurements host to host (the hosts' own addresses) and container to
container (two tasks of one app, by their cluster addresses):

- throughput: iperf3, one TCP stream for a few seconds (a bounded run);
- latency: ICMP round trips (ping), the median of a bounded count.

iperf3 and ping are the host's binaries, run inside each container's network namespace
(nsenter), so the image needs neither and the path measured is the container's own:
its veth, the node bridge, the agent's routes (and VXLAN), the peer's bridge.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

from dockyard.deploy import testbed
from dockyard.deploy.bench.cluster import (
    Cluster,
    apply_text,
    delete_and_wait,
    wait_for,
    write_report,
)

APP = "benchnet"
IPERF_PORT = 5201
PAIRS = (("host-gw", "h1", "h2"), ("vxlan", "h1", "h3"))


@dataclass(frozen=True)
class Result:
    """One path's figures: Mbit/s and the median round trip in ms."""

    mbit_s: float
    rtt_ms: float


def bench_app(image: str) -> str:
    """One idle task per host, all on the app's default network. Pure."""
    services = "".join(f"""
  {h}:
    image: {image}
    command: ["sleep", "3600"]
    deploy:
      placement:
        constraints: [node.hostname=={h}]
""" for h in ("h1", "h2", "h3"))
    return f"name: {APP}\nservices:{services}"


def parse_rtt_ms(ping_output: str) -> float:
    """The median of the `time=X ms` round trips in ping's output. Pure."""
    times = [float(t) for t in re.findall(r"time=([0-9.]+) ?ms", ping_output)]
    if not times:
        raise RuntimeError(f"no round trips in ping output: {ping_output[-200:]!r}")
    return statistics.median(times)


def parse_iperf_mbit_s(iperf_json: str) -> float:
    """The receiver's bits per second of an `iperf3 -J` run, in Mbit/s. Pure."""
    data = json.loads(iperf_json)
    return float(data["end"]["sum_received"]["bits_per_second"]) / 1e6


def _in_netns(path: str, *argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={path}", "--", *argv], capture_output=True,
                          text=True, timeout=timeout, check=False)


def measure(server_ns: str, client_ns: str, address: str, seconds: int) -> Result:
    """iperf3 and ping from `client_ns` to `address` (served in `server_ns`); bounded."""
    server = subprocess.Popen(["nsenter", f"--net={server_ns}", "--", "iperf3", "-s", "-1",
                               "-p", str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        run = _in_netns(client_ns, "iperf3", "-J", "-c", address, "-p", str(IPERF_PORT),
                        "-t", str(seconds), timeout=seconds + 20)
        if run.returncode != 0:
            raise RuntimeError(f"iperf3 to {address} failed: {run.stdout[-300:]}{run.stderr}")
        mbit = parse_iperf_mbit_s(run.stdout)
    finally:
        server.kill()
        server.wait(timeout=10)
    ping = _in_netns(client_ns, "busybox", "ping", "-c", "20", "-W", "2", address, timeout=60)
    return Result(mbit, parse_rtt_ms(ping.stdout))


def container_netns(cluster: Cluster, host: str) -> tuple[str, str]:
    """(netns path, cluster address) of the bench app's task on `host`."""
    client = cluster.engine(host)
    try:
        found = client.api.containers(filters={"label": [f"io.dockyard.app={APP}",
                                                         f"io.dockyard.service={host}"]})
        info = client.api.inspect_container(found[0]["Id"])
    finally:
        client.close()
    pid = info["State"]["Pid"]
    return f"/proc/{pid}/ns/net", info["NetworkSettings"]["Networks"]["dockyard0"]["IPAddress"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="iperf3 run length (1-30)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 30:
        raise SystemExit("error: --seconds must be between 1 and 30")
    for tool in ("iperf3", "busybox", "nsenter"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} is not installed (apt-get install iperf3 "
                             "busybox-static util-linux)")
    bed = testbed.up(nodes=3, node_cpus=2, node_memory="2G", segments=2)
    cluster = Cluster(bed)
    hosts = {h.name: h for h in bed.hosts}
    apply_text(cluster, bench_app(bed.image))
    report: dict[str, object] = {"iperf_seconds": args.seconds}
    try:
        wait_for("one task per host", lambda: len(cluster.running(APP)) == 3, timeout_s=120)
        for mode, a, b in PAIRS:
            host = measure(f"/var/run/netns/{hosts[b].netns}",
                           f"/var/run/netns/{hosts[a].netns}", hosts[b].address, args.seconds)
            (ns_a, _ip_a), (ns_b, ip_b) = container_netns(cluster, a), container_netns(cluster, b)
            box = measure(ns_b, ns_a, ip_b, args.seconds)
            ratio = box.mbit_s / host.mbit_s if host.mbit_s else 0.0
            print(f"{mode} ({a} -> {b}): host to host {host.mbit_s:,.0f} Mbit/s, "
                  f"{host.rtt_ms:.3f} ms; container to container {box.mbit_s:,.0f} Mbit/s, "
                  f"{box.rtt_ms:.3f} ms; throughput ratio {ratio:.2f}, latency +"
                  f"{box.rtt_ms - host.rtt_ms:.3f} ms")
            report[mode] = {"pair": f"{a}->{b}", "host_mbit_s": host.mbit_s,
                            "host_rtt_ms": host.rtt_ms, "container_mbit_s": box.mbit_s,
                            "container_rtt_ms": box.rtt_ms, "throughput_ratio": ratio}
    finally:
        delete_and_wait(cluster, APP)
    print(f"report: {write_report('network', report)}")
    print("Tear down with: make demo-down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
