"""The cluster as benchmarks and chaos scenarios see it: tasks through the Control API,
containers through each host's engine, and the invariants every scenario must keep."""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from dockyard.client.control import control_stub
from dockyard.common import polling
from dockyard.deploy.testbed import TestbedStatus
from dockyard.v1 import control_pb2, objects_pb2

# Benchmarks time what they wait for, so they poll finer than tests do.
wait_for = functools.partial(polling.wait_for, every_s=0.02)
RESULTS = Path("bench-results")


def sleeper_app(name: str, image: str, replicas: int, *, strategy: str = "spread") -> str:
    """A Compose file for `replicas` long-running busybox containers."""
    return f"""
name: {name}
x-dockyard: {{strategy: {strategy}}}
services:
  sleeper:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    deploy:
      replicas: {replicas}
      resources:
        reservations: {{cpus: "0.01", memory: 8M}}
"""


@dataclass
class Cluster:
    bed: TestbedStatus

    def __post_init__(self) -> None:
        self.stub = control_stub(self.bed.server, Path(self.bed.credentials))

    def tasks(self, app: str) -> list[objects_pb2.Task]:
        return list(self.stub.ListTasks(control_pb2.ListRequest(app=app), timeout=10).tasks)

    def running(self, app: str) -> list[objects_pb2.Task]:
        return [t for t in self.tasks(app)
                if t.desired_state == objects_pb2.DESIRED_RUNNING
                and t.status.state == objects_pb2.RUNNING]

    def nodes(self) -> list[objects_pb2.Node]:
        return list(self.stub.ListNodes(control_pb2.ListRequest(), timeout=10).nodes)

    def engine(self, host: str) -> docker.DockerClient:
        h = next(h for h in self.bed.hosts if h.name == host)
        return docker.DockerClient(base_url=f"unix://{h.docker_socket}", timeout=30)

    def containers(self, app: str, *, hosts: list[str] | None = None) -> dict[str, dict[str, str]]:
        """Running containers of `app` per host: {host: {container id: StartedAt}}."""
        out: dict[str, dict[str, str]] = {}
        for h in self.bed.hosts:
            if hosts is not None and h.name not in hosts:
                continue
            client = self.engine(h.name)
            found: dict[str, str] = {}
            try:
                for c in client.api.containers(filters={"label": f"io.dockyard.app={app}"}):
                    try:
                        found[c["Id"]] = client.api.inspect_container(c["Id"])["State"][
                            "StartedAt"]
                    except docker.errors.NotFound:
                        pass
            finally:
                client.close()
            out[h.name] = found
        return out


def check_invariants(cluster: Cluster, app: str, replicas: int,
                     *, reachable: list[str] | None = None) -> list[str]:
    """What is wrong with `app` now: lost or duplicated tasks, or stray containers.
    Empty means: exactly `replicas` tasks run, one per slot, and the engines of the
    reachable hosts run exactly those containers."""
    problems = []
    live = [t for t in cluster.tasks(app) if t.desired_state == objects_pb2.DESIRED_RUNNING]
    running = [t for t in live if t.status.state == objects_pb2.RUNNING]
    if len(running) != replicas:
        problems.append(f"{len(running)} tasks running, want {replicas}")
    slots = Counter((t.service, t.slot) for t in live)
    dup = [f"{s}.{n}" for (s, n), c in slots.items() if c > 1]
    if dup:
        problems.append(f"duplicated slots: {', '.join(sorted(dup))}")
    engines = cluster.containers(app, hosts=reachable)
    actual = {cid for per_host in engines.values() for cid in per_host}
    reported = {t.status.container_id for t in running
                if reachable is None or t.node in reachable}
    if actual != reported:
        problems.append(f"engines run {len(actual)} containers, tasks report {len(reported)}"
                        f" ({len(actual - reported)} stray, {len(reported - actual)} missing)")
    return problems


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "worst": max(values), "best": min(values),
            "runs": len(values)}


def write_report(name: str, report: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return path


def apply_text(cluster: Cluster, text: str) -> None:
    from dockyard.client.compose import load_app

    def no_files(path: str) -> bytes:
        raise FileNotFoundError(path)

    spec = load_app(text, read_file=no_files, default_name="bench").spec
    cluster.stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=30)


def delete_and_wait(cluster: Cluster, app: str, *, timeout_s: float = 60) -> None:
    cluster.stub.DeleteApp(control_pb2.DeleteAppRequest(name=app), timeout=30)
    wait_for(f"{app} gone", lambda: not cluster.tasks(app)
             and not any(cluster.containers(app).values()), timeout_s=timeout_s, every_s=0.2)


def plain_docker_run(cluster: Cluster, hosts: list[str]) -> float:
    """The baseline: seconds to start one sleeper per entry of `hosts` with plain parallel
    `docker run -d` on those engines (the containers are removed afterwards)."""
    clients = {h: cluster.engine(h) for h in set(hosts)}

    def run(host: str) -> tuple[str, str]:
        c = clients[host].containers.run(cluster.bed.image, ["sleep", "86400"], detach=True,
                                         labels={"bench": "plain"}, stop_signal="SIGKILL")
        return host, str(c.id)

    try:
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            started = list(pool.map(run, hosts))
        elapsed = time.monotonic() - t0
        for host, cid in started:
            clients[host].api.remove_container(cid, force=True)
        return elapsed
    finally:
        for c in clients.values():
            c.close()
