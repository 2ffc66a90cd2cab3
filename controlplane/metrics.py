"""The server's Prometheus metrics, exposed by prometheus-client on `/metrics`.

Two kinds:
- measured where they happen: reconcile round and placement latency (the leader),
  apply latency (the Control API), task state transitions (as agents report them to
  the replica holding their session), open sessions;
- read at scrape time from the replica's in-memory view (`ClusterCollector`): each
  service's desired/running/healthy replicas, tasks per state, and each node's
  capacity, allocation, readiness and heartbeat age. No scrape reads etcd.

Every name is listed in docs/operations.md, and deploy/grafana/dockyard.json charts them.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dockyard.controlplane.console import model
from dockyard.controlplane.view import ClusterView
from dockyard.v1 import objects_pb2

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SESSIONS = Gauge("dockyard_agent_sessions", "Agent sessions open on this replica")
RECONCILE_SECONDS = Histogram(
    "dockyard_reconcile_round_seconds",
    "Time to plan one reconcile round (nodes, tasks, placement), on the leader",
    buckets=_FAST)
PLACEMENT_SECONDS = Histogram(
    "dockyard_placement_seconds",
    "Time the scheduler took to place one round's pending tasks, on the leader",
    buckets=_FAST)
APPLY_SECONDS = Histogram(
    "dockyard_apply_seconds", "Time to judge and store one apply (Control.Apply)",
    buckets=_FAST)
STATUS_CALLS_SHED = Counter(
    "dockyard_status_calls_shed_total",
    "Status updates refused at once (RESOURCE_EXHAUSTED, with a wait) because this "
    "replica was behind on status writes or the call had waited out its deadline")
STATUS_BATCHES = Counter(
    "dockyard_status_batches_total",
    "Batches of task statuses agents sent this replica, by the way they came: on the "
    "TaskStatuses stream, or one UpdateTaskStatus call each (agents without the stream)",
    ["way"])
TASK_TRANSITIONS = Counter(
    "dockyard_task_transitions_total",
    "Task state changes reported by agents to this replica, by the state entered",
    ["state"])

_STATE_NAME = {v: k.lower() for k, v in objects_pb2.TaskState.items()}


def entered_states(view: ClusterView, updates: Iterable[Any]) -> list[str]:
    """The state each reported status enters, for those whose state differs from the one
    the view holds. Pure; read it before the reports are stored (the mirror then moves)."""
    out = []
    for u in updates:
        if u.task_id not in view.tasks:
            continue  # deleted meanwhile: the report is not stored
        before = view.statuses.get(u.task_id)
        if before is None or before.state != u.status.state:
            out.append(_STATE_NAME.get(u.status.state, "unknown"))
    return out


def count_transitions(states: Iterable[str]) -> None:
    for state in states:
        TASK_TRANSITIONS.labels(state=state).inc()


class ClusterCollector(Collector):
    """Gauges read from a view at scrape time: services, tasks and nodes."""

    def __init__(self, view: Callable[[], ClusterView],
                 heartbeat_ms: Callable[[str], int]) -> None:
        self._view = view
        self._heartbeat_ms = heartbeat_ms

    def collect(self) -> Iterator[GaugeMetricFamily]:
        view = self._view()
        page = model.build(view, now_ms=int(time.time() * 1000), heartbeat_ms=self._heartbeat_ms)
        replicas = GaugeMetricFamily(
            "dockyard_service_replicas",
            "Replicas of each service: desired (the file's count), running, healthy",
            labels=["app", "service", "state"])
        for s in page["services"]:
            for state in ("desired", "running", "healthy"):
                replicas.add_metric([s["app"], s["name"], state], s[state])
        yield replicas
        tasks = GaugeMetricFamily("dockyard_tasks", "Tasks by their observed state",
                                  labels=["state"])
        states: Tally[str] = Tally()
        for t in view.tasks.values():
            states[_STATE_NAME.get(model.task_state(view, t).state, "pending")] += 1
        for state, n in sorted(states.items()):
            tasks.add_metric([state], n)
        yield tasks
        yield GaugeMetricFamily("dockyard_tasks_waiting",
                                "Tasks wanted up that are not up yet (see the console)",
                                value=len(page["waiting"]))
        yield from _node_families(page["nodes"])


def _node_families(nodes: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    fams = {
        "cpu_cap": GaugeMetricFamily("dockyard_node_cpu_capacity_cores",
                                     "CPUs the scheduler may fill on the node", labels=["node"]),
        "cpu_alloc": GaugeMetricFamily("dockyard_node_cpu_allocated_cores",
                                       "CPUs reserved by the node's tasks", labels=["node"]),
        "mem_cap": GaugeMetricFamily("dockyard_node_memory_capacity_bytes",
                                     "Memory the scheduler may fill on the node",
                                     labels=["node"]),
        "mem_alloc": GaugeMetricFamily("dockyard_node_memory_allocated_bytes",
                                       "Memory reserved by the node's tasks", labels=["node"]),
        "up": GaugeMetricFamily("dockyard_node_ready", "1 when the node is ready, 0 when down",
                                labels=["node"]),
        "age": GaugeMetricFamily("dockyard_node_heartbeat_age_seconds",
                                 "Seconds since the node's last heartbeat",
                                 labels=["node"]),
    }
    for n in nodes:
        name = [n["name"]]
        fams["cpu_cap"].add_metric(name, n["cpu"]["capacity"] / 1000)
        fams["cpu_alloc"].add_metric(name, n["cpu"]["allocated"] / 1000)
        fams["mem_cap"].add_metric(name, n["memory"]["capacity"])
        fams["mem_alloc"].add_metric(name, n["memory"]["allocated"])
        fams["up"].add_metric(name, 1 if n["state"] == "ready" else 0)
        if n["heartbeat_age_s"] is not None:
            fams["age"].add_metric(name, n["heartbeat_age_s"])
    yield from fams.values()


def register_cluster(collector: ClusterCollector) -> Callable[[], None]:
    """Add the collector to the default registry; returns what removes it."""
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)
