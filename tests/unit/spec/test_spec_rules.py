"""common/spec/rules.py: the one name grammar, the ranges and the limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.common.spec import rules


@pytest.mark.parametrize("name", ["web", "db-1", "a_b", "0", "x" * 63, "9lives"])
def test_good_app_and_service_names(name: str) -> None:
    assert rules.name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("x" * 64, "is longer than 63 characters"),
        ("victim/evil", "must be lowercase letters, digits, '-' and '_', starting with a "
                        "letter or digit"),
        ("..", "must be lowercase"),
        ("a.b", "must be lowercase"),
        ("a\x00b", "must be lowercase"),
        ("a\nb", "must be lowercase"),
        ("web\n", "must be lowercase"),
        ("Web", "must be lowercase"),
        ("-web", "must be lowercase"),
        ("wéb", "must be lowercase"),
    ],
)
def test_bad_app_and_service_names(name: str, problem: str) -> None:
    assert (rules.name_problem(name) or "").startswith(problem)


@given(st.text(max_size=80))
def test_a_valid_name_is_one_safe_key_segment(name: str) -> None:
    if rules.name_problem(name) is None:
        assert 1 <= len(name) <= rules.MAX_NAME_LENGTH
        assert not any(c in name for c in "/.\x00\n\r ")
        assert name == name.lower() and name.isascii()


@pytest.mark.parametrize(("name", "ok"), [
    ("node-b", True), ("h1", True), ("a" * 63, True), ("a" * 64, False), ("node_b", False),
    ("-a", False), ("a-", False), ("../../x", False), ("x\x00y", False), ("a\n", False),
    ("", False), ("Node", False),
])
def test_node_names_are_dns_labels(name: str, ok: bool) -> None:
    assert (rules.dns_label_problem(name) is None) == ok


@pytest.mark.parametrize(("name", "ok"), [
    ("db_password", True), ("site.conf", True), ("A1", True), ("..", False), (".env", False),
    ("a/b", False), ("x" * 129, False), ("", False),
])
def test_object_names(name: str, ok: bool) -> None:
    assert (rules.object_name_problem(name) is None) == ok


def test_ports_replicas_and_sizes() -> None:
    assert rules.port_problem(1) is None and rules.port_problem(65535) is None
    assert rules.port_problem(0) == "port 0 is not in 1-65535"
    assert rules.port_problem(99999) == "port 99999 is not in 1-65535"
    assert rules.replicas_problem(10_000) is None
    assert rules.replicas_problem(10_001) == (
        "replicas 10001 is more than the limit of 10,000 per service")
    assert rules.replicas_problem(-1) == "replicas must not be negative, got -1"
    loose = rules.Limits(replicas_per_service=50_000)
    assert rules.replicas_problem(20_000, loose) is None
    assert rules.size_problem(10, 10, what="x") is None
    assert rules.size_problem(600 * 1024, 512 * 1024, what='secret "k"') == (
        'secret "k" is 600 KiB; the limit is 512 KiB')
    assert rules.format_size(5 * rules.MIB) == "5 MiB"
    assert rules.format_size(1536 * 1024) == "1.5 MiB"
    assert rules.format_size(12) == "12 B"


def test_the_limits_keep_an_apply_inside_one_etcd_transaction() -> None:
    limits = rules.DEFAULT_LIMITS
    # app put + one put per service + one event + the kept version put and the oldest
    # one's delete: every new app of the most services fits.
    assert limits.services_per_app + 4 <= rules.ETCD_MAX_TXN_OPS
    # the App carries the spec, each Service its part and its previous spec again, and
    # the kept version once more: four times the app, plus keys.
    assert 4 * limits.app_bytes + 64 * 1024 <= rules.ETCD_MAX_REQUEST_BYTES
    # A secret or config is stored apart from the app: one alone (`secret create`, with
    # the services it rolls) fits a transaction; an apply adding several is counted
    # exactly by admission.apply_txn_problem.
    assert limits.file_bytes + 2 * limits.app_bytes <= rules.ETCD_MAX_REQUEST_BYTES
    assert limits.app_bytes < rules.MAX_REQUEST_BYTES
    assert rules.LOADER_LIMITS.replicas_per_service == rules.REPLICAS_CEILING
