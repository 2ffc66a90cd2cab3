"""The console's pure parts: the view model built from a snapshot, and login tokens."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from dockyard.controlplane.console import auth, model
from dockyard.controlplane.metrics import ClusterCollector
from dockyard.controlplane.security import pki
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import (
    GIB,
    app,
    dep,
    node,
    service,
    spec,
    status,
    task,
    view_of,
)

NOW_MS = 1_800_000_000_000


def amp_view() -> object:
    db, php, web = (spec("db", cpu=500, mem=GIB), spec("php", depends_on=[dep("db")]),
                    spec("web", replicas=2, depends_on=[dep("php")]))
    sdb, sphp, sweb = (service("amp", s) for s in (db, php, web))
    sdb.status.running = sdb.status.healthy = 1
    sphp.status.waiting_on = "waiting on db: starting"
    tasks = [
        task(sdb, 1, tid="t1", node="h1"),
        task(sphp, 1, tid="t2", node="h2", desired=objects_pb2.DESIRED_READY),
        task(sweb, 1, tid="t3", node="h3"),
        task(sweb, 2, tid="t4"),
    ]
    tasks[3].unplaced_reason = "0/3 nodes fit: 3 insufficient cpu (needs 0.1 cpus)"
    return view_of(
        apps=[app("amp", [db, php, web])], services=[sdb, sphp, sweb], tasks=tasks,
        statuses={"t1": status(objects_pb2.RUNNING, objects_pb2.HEALTH_HEALTHY),
                  "t3": status(objects_pb2.STARTING)},
        nodes=[node("h1", cpu=2000, mem=2 * GIB), node("h2"),
               node("h3", state=objects_pb2.NODE_DOWN)],
    )


def test_the_model_draws_waves_counts_nodes_and_why_tasks_wait() -> None:
    page = model.build(amp_view(), now_ms=NOW_MS,  # type: ignore[arg-type]
                       heartbeat_ms=lambda n: NOW_MS - 1500 if n == "h1" else 0)
    [amp] = page["apps"]
    assert amp["waves"] == [["db"], ["php"], ["web"]]
    assert amp["edges"] == [["db", "php"], ["php", "web"]]
    counts = {s["name"]: (s["desired"], s["running"], s["healthy"]) for s in page["services"]}
    assert counts == {"db": (1, 1, 1), "php": (1, 0, 0), "web": (2, 0, 0)}

    nodes = {n["name"]: n for n in page["nodes"]}
    assert nodes["h1"]["cpu"] == {"capacity": 2000, "allocated": 500}
    assert nodes["h1"]["memory"] == {"capacity": 2 * GIB, "allocated": GIB}
    assert nodes["h1"]["heartbeat_age_s"] == 1.5
    assert nodes["h2"]["heartbeat_age_s"] is None
    assert nodes["h3"]["state"] == "down" and not nodes["h3"]["alive"]
    assert [(t["service"], t["state"], t["health"]) for t in nodes["h1"]["tasks"]] == [
        ("db", "running", "healthy")]

    reasons = {w["id"]: w["reason"] for w in page["waiting"]}
    assert reasons == {
        "t2": "waiting on db: starting",
        "t3": "starting on h3",
        "t4": "0/3 nodes fit: 3 insufficient cpu (needs 0.1 cpus)",
    }


def test_the_cluster_collector_exposes_services_nodes_and_tasks() -> None:
    registry = CollectorRegistry()
    registry.register(ClusterCollector(amp_view, lambda _n: 0))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'dockyard_service_replicas{app="amp",service="web",state="desired"} 2.0' in text
    assert 'dockyard_service_replicas{app="amp",service="db",state="healthy"} 1.0' in text
    assert 'dockyard_node_cpu_allocated_cores{node="h1"} 0.5' in text
    assert 'dockyard_node_memory_capacity_bytes{node="h1"} 2.147483648e+09' in text
    assert 'dockyard_node_ready{node="h3"} 0.0' in text
    assert 'dockyard_tasks{state="running"} 1.0' in text
    assert "dockyard_tasks_waiting 3.0" in text


def test_a_token_logs_in_until_it_expires_and_only_for_its_cluster() -> None:
    ca = pki.create_ca()
    key = auth.console_key(ca.key_pem)
    assert auth.console_key(ca.key_pem) == key  # every replica derives the same key
    token = auth.make_token(key, now_s=1000, ttl_s=600, nonce="ab" * 8)
    assert auth.token_expiry(token) == 1600
    assert auth.token_problem(token, key, now_s=1599) is None
    assert "expired" in (auth.token_problem(token, key, now_s=1600) or "")
    other = auth.console_key(pki.create_ca().key_pem)
    assert "not made by this cluster" in (auth.token_problem(token, other, now_s=1000) or "")
    body, mac = token.rsplit(".", 1)
    longer = body.replace(".1600.", ".99999.") + "." + mac
    assert "not made by this cluster" in (auth.token_problem(longer, key, now_s=1000) or "")
    for junk in ("", "dyc1", "Bearer x", token + "x", token.replace("dyc1", "dyc2")):
        assert "not a console token" in (auth.token_problem(junk, key, now_s=1000) or "")


def test_token_lifetimes_are_bounded() -> None:
    assert auth.ttl_problem(auth.DEFAULT_TTL_S) is None
    assert auth.ttl_problem(59) and auth.ttl_problem(auth.MAX_TTL_S + 1)


def test_console_token_reads_lifetimes_and_names_the_address_a_browser_reaches() -> None:
    from dockyard.cli.console import console_url, parse_ttl

    assert [parse_ttl(t) for t in ("90s", "30m", "12h", "7d", "600")] == [
        90, 1800, 43200, 604800, 600]
    for bad in ("", "h", "1.5h", "-1h", "12w"):
        try:
            parse_ttl(bad)
        except ValueError as exc:
            assert "--ttl" in str(exc)
        else:
            raise AssertionError(bad)
    assert console_url("127.0.0.1:7080", False, "127.0.0.1:7070") == "http://127.0.0.1:7080"
    assert console_url("0.0.0.0:7080", True, "10.0.0.5:7070,10.0.0.6:7070") == (
        "https://10.0.0.5:7080")


def test_a_transition_is_a_reported_state_the_view_does_not_hold_yet() -> None:
    from types import SimpleNamespace

    from dockyard.controlplane.metrics import entered_states

    view = amp_view()

    def report(tid: str, state: int) -> SimpleNamespace:
        return SimpleNamespace(task_id=tid, status=status(state))

    updates = [report("t1", objects_pb2.RUNNING), report("t3", objects_pb2.RUNNING),
               report("t4", objects_pb2.PREPARING), report("gone", objects_pb2.FAILED)]
    assert entered_states(view, updates) == ["running", "preparing"]  # type: ignore[arg-type]
