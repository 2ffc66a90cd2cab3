"""controlplane/admission.py: what only the server can judge, and each request's fields."""

from __future__ import annotations

from dockyard.common.spec import rules
from dockyard.controlplane import admission
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import node, service, spec

LIMITS = rules.Limits(replicas_per_service=1000, replicas_per_cluster=1500)


def test_the_cluster_total_counts_other_apps_but_not_the_app_being_replaced() -> None:
    stored = [service("other", spec("a", replicas=1000)), service("shop", spec("web",
                                                                             replicas=900))]
    new = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=500)])
    assert admission.admit(new, [], limits=LIMITS, services=stored) is None
    new.services[0].replicas = 501
    assert admission.admit(new, [], limits=LIMITS, services=stored) == (
        "the cluster would run 1,501 replicas; the limit is 1,500 "
        "(dockyard server --max-replicas-per-cluster)")


def test_an_app_no_node_could_hold_is_refused() -> None:
    big = specs_pb2.AppSpec(name="shop", services=[spec("web", cpu=64_000)])
    problem = admission.admit(big, [node("n1", cpu=2000)], limits=LIMITS)
    assert problem is not None and problem.startswith('service "web" can never be placed')


def test_scale_requests() -> None:
    stored = [service("shop", spec("web", replicas=10)), service("x", spec("y", replicas=600))]
    ok = admission.scale_problem("shop", "web", 900, services=stored, limits=LIMITS)
    assert ok is None
    assert admission.scale_problem("shop", "web", 1001, services=stored, limits=LIMITS) == (
        'service "web": replicas 1001 is more than the limit of 1,000 per service')
    assert admission.scale_problem("shop", "web", 901, services=stored, limits=LIMITS) == (
        "the cluster would run 1,501 replicas; the limit is 1,500 "
        "(dockyard server --max-replicas-per-cluster)")
    assert admission.scale_problem("victim/evil", "web", 1, services=[], limits=LIMITS) == (
        'app name "victim/evil" must be lowercase letters, digits, \'-\' and \'_\', '
        "starting with a letter or digit")
    assert admission.scale_problem("shop", "", 1, services=[], limits=LIMITS) == (
        'service name "" is empty')


def test_names_in_requests() -> None:
    assert admission.name_problem("app", "") == 'app name "" is empty'
    assert admission.name_problem("app", "", optional=True) is None
    assert admission.name_problem("app", "..", optional=True) is not None
    assert admission.name_problem("app", "shop") is None


def test_node_requests() -> None:
    assert admission.node_request_problem("node-b", objects_pb2.DRAIN) is None
    assert admission.node_request_problem("node-b", objects_pb2.ACTIVE) is None
    assert admission.node_request_problem("node-b", 7) == (
        "availability 7 is not ACTIVE (1) or DRAIN (2)")
    assert admission.node_request_problem("node-b", 0) is not None
    assert (admission.node_request_problem("../../x", objects_pb2.DRAIN) or "").startswith(
        'node name "../../x" must be lowercase')


def test_logs_requests() -> None:
    assert admission.logs_request_problem("shop", "web", 0, -1) is None
    assert admission.logs_request_problem("shop", "web", -1, 0) == (
        "slot must not be negative, got -1")
    assert admission.logs_request_problem("shop", "web", 0, -5) == (
        "tail must be -1 (all) or a number of lines, got -5")
    assert admission.logs_request_problem("shop", "a/b", 0, 0) is not None


def test_an_apply_past_one_etcd_transaction_is_refused_before_etcd() -> None:
    assert admission.apply_txn_problem(app="shop", compares=101, ops=102, size=1000) is None
    assert admission.apply_txn_problem(app="shop", compares=101, ops=202, size=1000) == (
        'app "shop": this apply writes 202 objects in one transaction; the most is 128: '
        "apply the change in smaller steps (remove services first, then add the new ones)")
    assert admission.apply_txn_problem(app="shop", compares=1, ops=3, size=2 * rules.MIB) == (
        'app "shop": this apply writes 2 MiB in one transaction; the most is 1.5 MiB')
