"""`make chaos`: break the cluster on purpose, time the recovery, check nothing was lost.

Every scenario runs against an app of sleepers spread over the testbed, and ends with
the same three checks: no task lost, none duplicated, and no healthy container on an
unaffected host restarted without need (same container id, same start time).
`tests/e2e/test_chaos.py` runs the same scenarios as tests.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.deploy import testbed
from dockyard.deploy.bench.cluster import (
    Cluster,
    apply_text,
    check_invariants,
    delete_and_wait,
    sleeper_app,
    wait_for,
    write_report,
)
from dockyard.v1 import control_pb2, objects_pb2

REPLICAS = 6
BED_ARGS: dict[str, object] = {"nodes": 3, "node_cpus": 2, "node_memory": "2G"}


@dataclass
class Outcome:
    scenario: str
    recover_s: float
    problems: list[str] = field(default_factory=list)


def _unaffected(cluster: Cluster, app: str, skip: set[str]) -> dict[str, str]:
    """Container id -> StartedAt on hosts the scenario does not touch."""
    out: dict[str, str] = {}
    for host, per in cluster.containers(app).items():
        if host not in skip:
            out.update(per)
    return out


def _restarted(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [f"container {cid[:12]} restarted or gone" for cid, started in before.items()
            if after.get(cid) != started]


def _all_running(cluster: Cluster, app: str, *, avoid: str = "") -> bool:
    r = cluster.running(app)
    return len(r) == REPLICAS and all(t.node != avoid for t in r)


def _busiest(cluster: Cluster, app: str) -> str:
    running = cluster.running(app)
    return max((h.name for h in cluster.bed.hosts),
               key=lambda h: sum(t.node == h for t in running))


def _server_back(cluster: Cluster) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return len(cluster.nodes()) > 0
        except Exception:
            return False
    return probe


def kill_host(cluster: Cluster, app: str) -> Outcome:
    victim = _busiest(cluster, app)
    before = _unaffected(cluster, app, {victim})
    t0 = time.monotonic()
    testbed.cut_link(victim)
    testbed.kill_agent(victim)
    try:
        wait_for("tasks elsewhere", lambda: _all_running(cluster, app, avoid=victim),
                 timeout_s=60)
        took = time.monotonic() - t0
        problems = _restarted(before, _unaffected(cluster, app, {victim}))
    finally:
        testbed.restore_link(victim)
        testbed.start_agent(victim)
    wait_for("host back and fenced", lambda: not cluster.containers(app, hosts=[victim])[victim]
             and any(n.meta.id == victim and n.state == objects_pb2.NODE_READY
                     for n in cluster.nodes()), timeout_s=60, every_s=0.2)
    return Outcome("kill a host", took, problems + check_invariants(cluster, app, REPLICAS))


def partition_host(cluster: Cluster, app: str) -> Outcome:
    victim = _busiest(cluster, app)
    before = _unaffected(cluster, app, {victim})
    t0 = time.monotonic()
    testbed.cut_link(victim)
    try:
        wait_for("tasks elsewhere", lambda: _all_running(cluster, app, avoid=victim),
                 timeout_s=60)
        took = time.monotonic() - t0
    finally:
        testbed.restore_link(victim)
    wait_for("stale copies fenced", lambda: not cluster.containers(app, hosts=[victim])[victim],
             timeout_s=60, every_s=0.2)
    problems = _restarted(before, _unaffected(cluster, app, {victim}))
    return Outcome("partition a host", took, problems + check_invariants(cluster, app, REPLICAS))


def kill_agent(cluster: Cluster, app: str) -> Outcome:
    victim = _busiest(cluster, app)
    before = _unaffected(cluster, app, set())
    t0 = time.monotonic()
    testbed.kill_agent(victim)
    testbed.start_agent(victim)
    wait_for("agent back", lambda: any(
        t.node == victim and t.status.state == objects_pb2.RUNNING
        for t in cluster.running(app)), timeout_s=30)
    took = time.monotonic() - t0
    problems = _restarted(before, _unaffected(cluster, app, set()))
    return Outcome("kill an agent", took, problems + check_invariants(cluster, app, REPLICAS))


def kill_leader(cluster: Cluster, app: str) -> Outcome:
    before = _unaffected(cluster, app, set())
    t0 = time.monotonic()
    testbed.kill_server()
    testbed.up(**BED_ARGS, progress=lambda _m: None)  # type: ignore[arg-type]
    wait_for("control plane back", _server_back(cluster), timeout_s=60, every_s=0.1)
    wait_for("all running", lambda: _all_running(cluster, app), timeout_s=60)
    took = time.monotonic() - t0
    problems = _restarted(before, _unaffected(cluster, app, set()))
    return Outcome("kill -9 the leader (and its embedded etcd)", took,
                   problems + check_invariants(cluster, app, REPLICAS))


def sigkill_mid_apply(cluster: Cluster, app: str) -> Outcome:
    """Kill the server while an apply of a second app is in flight: all or nothing."""
    before = _unaffected(cluster, app, set())
    text = sleeper_app("midapply", cluster.bed.image, 3)
    text += "".join(f"  extra{i}:\n    image: {cluster.bed.image}\n    command: [sleep, '1']\n"
                    f"    deploy: {{replicas: 0}}\n" for i in range(30))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    cli = subprocess.Popen([sys.executable, "-m", "dockyard.cli", "apply", "-f", f.name,
                            "--server", cluster.bed.server,
                            "--credentials", cluster.bed.credentials],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.05)
    t0 = time.monotonic()
    testbed.kill_server(sig=signal.SIGKILL)
    cli.wait(timeout=60)
    testbed.up(**BED_ARGS, progress=lambda _m: None)  # type: ignore[arg-type]
    wait_for("control plane back", _server_back(cluster), timeout_s=60, every_s=0.1)
    took = time.monotonic() - t0
    services = list(cluster.stub.ListServices(
        control_pb2.ListRequest(app="midapply"), timeout=10).services)
    problems = []
    if len(services) not in (0, 31):
        problems.append(f"half an apply: {len(services)} of 31 services stored")
    wait_for("all running", lambda: _all_running(cluster, app), timeout_s=60)
    problems += _restarted(before, _unaffected(cluster, app, set()))
    if services:
        delete_and_wait(cluster, "midapply")
    os.unlink(f.name)
    return Outcome("SIGKILL the server mid-apply", took,
                   problems + check_invariants(cluster, app, REPLICAS))


SCENARIOS: dict[str, Callable[[Cluster, str], Outcome]] = {
    "kill-host": kill_host,
    "kill-leader": kill_leader,
    "kill-agent": kill_agent,
    "partition-host": partition_host,
    "sigkill-mid-apply": sigkill_mid_apply,
}


def prepare(cluster: Cluster, app: str) -> None:
    apply_text(cluster, sleeper_app(app, cluster.bed.image, REPLICAS))
    wait_for("all running", lambda: len(cluster.running(app)) == REPLICAS, timeout_s=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], default=[])
    args = parser.parse_args()
    bed = testbed.up(**BED_ARGS)  # type: ignore[arg-type]
    cluster = Cluster(bed)
    app = "chaos"
    prepare(cluster, app)
    outcomes = []
    failed = False
    try:
        for name in args.scenarios or list(SCENARIOS):
            out = SCENARIOS[name](cluster, app)
            outcomes.append(out)
            verdict = "ok" if not out.problems else "PROBLEMS: " + "; ".join(out.problems)
            failed = failed or bool(out.problems)
            print(f"{out.scenario:<45} recovered in {out.recover_s:6.2f}s  {verdict}")
    finally:
        delete_and_wait(cluster, app)
    write_report("chaos", {o.scenario: {"recover_s": o.recover_s, "problems": o.problems}
                           for o in outcomes})
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
