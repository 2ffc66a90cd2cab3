"""`make bench-deploy`: apply until all replicas run, against plain parallel `docker run`.

Two promises of docs/promises.md: 6 replicas on 3 hosts as fast as Swarm (1.2 s there), and the
orchestration overhead for 30 replicas within 1.2x of starting the same containers with
plain parallel `docker run -d` on the same engines. Both sides use the same image, already
pulled, and alternate run by run so drift on a noisy machine hits both alike.
"""

from __future__ import annotations

import argparse
import itertools
import time

from dockyard.deploy import testbed
from dockyard.deploy.bench.cluster import (
    Cluster,
    apply_text,
    delete_and_wait,
    plain_docker_run,
    sleeper_app,
    summary,
    wait_for,
    write_report,
)


def dockyard_once(cluster: Cluster, replicas: int) -> float:
    text = sleeper_app("benchdeploy", cluster.bed.image, replicas)
    t0 = time.monotonic()
    apply_text(cluster, text)
    wait_for("all running", lambda: len(cluster.running("benchdeploy")) == replicas,
             timeout_s=120)
    elapsed = time.monotonic() - t0
    delete_and_wait(cluster, "benchdeploy")
    return elapsed


def plain_once(cluster: Cluster, replicas: int) -> float:
    hosts = [h.name for h in cluster.bed.hosts]
    return plain_docker_run(cluster, list(itertools.islice(itertools.cycle(hosts), replicas)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bed = testbed.up(nodes=3, node_cpus=2, node_memory="2G")
    cluster = Cluster(bed)
    for h in bed.hosts:  # both sides start from a pulled image
        c = cluster.engine(h.name)
        c.images.pull(bed.image)
        c.close()
    report = {}
    for replicas in (6, 30):
        ours, plain = [], []
        dockyard_once(cluster, replicas)  # warm-up, not counted
        for _ in range(args.runs):
            ours.append(dockyard_once(cluster, replicas))
            plain.append(plain_once(cluster, replicas))
        ratios = [a / b for a, b in zip(ours, plain, strict=True)]
        s_ours, s_plain, s_ratio = summary(ours), summary(plain), summary(ratios)
        report[f"{replicas}_replicas_3_hosts"] = {
            "dockyard_s": s_ours, "plain_docker_run_s": s_plain, "ratio": s_ratio}
        print(f"{replicas:>3} replicas on 3 hosts: dockyard apply-to-running "
              f"median {s_ours['median']:.2f}s (worst {s_ours['worst']:.2f}s); plain parallel "
              f"docker run -d median {s_plain['median']:.2f}s; ratio median "
              f"{s_ratio['median']:.2f}x (target <= 1.2x; reference, not this run: Swarm "
              f"1.24x and 1.2 s for 6 on this testbed, 2026-11, docs/promises.md)")
    path = write_report("deploy", report)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
