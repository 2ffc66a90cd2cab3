"""The neutral helpers both sides import: join tokens, node names, bounded waits."""

from __future__ import annotations

import itertools

import pytest

from dockyard.common import jointoken, names, polling


def test_split_token_reads_the_ca_digest_and_secret() -> None:
    digest = "ab" * 32
    assert jointoken.split_token(f" dyt1-{digest}-s3cr3t-with-dashes\n") == (
        digest, "s3cr3t-with-dashes")
    assert jointoken.split_token("dyt1-short-secret") == (None, "dyt1-short-secret")
    assert jointoken.split_token("plain") == (None, "plain")


def test_join_key_is_the_same_for_the_same_secret_and_differs_otherwise() -> None:
    a, b, c = (jointoken.join_key(s).private_numbers().private_value
               for s in ("one secret", "one secret", "another secret"))
    assert a == b != c


@pytest.mark.parametrize("secret", ["a", "a" * 64, "abababab" * 8, "0123456789abcdef" * 1])
def test_weak_secrets_are_refused_in_one_line(secret: str) -> None:
    problem = jointoken.weakness(secret)
    assert problem is not None and "\n" not in problem


def test_generated_and_long_varied_secrets_are_strong() -> None:
    assert jointoken.weakness("3f9c2a7d1e8b4c6a0f5d2e9b7c1a4d8e6f0b3c5a") is None
    assert jointoken.weakness("correct-horse-battery-staple-lamp") is None


@pytest.mark.parametrize("name", ["n1", "web-01", "a", "h" * 63, "0x"])
def test_dns_labels_are_node_names(name: str) -> None:
    assert names.node_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "../../x", "x\0y", "a\n", "Web", "web_1", "a" * 64,
                                  "-x", "x-", "a.b", "a b", "é"])
def test_other_node_names_are_refused_in_one_line(name: str) -> None:
    problem = names.node_name_problem(name)
    assert problem is not None and "\n" not in problem


def test_wait_for_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", "ready"])
    assert polling.wait_for("ready", lambda: next(values), timeout_s=5, every_s=0.001) == "ready"


def test_wait_for_is_bounded_and_names_what_it_waited_for() -> None:
    calls = itertools.count()
    with pytest.raises(TimeoutError, match=r"timed out after 0\.05s waiting for the moon; last: 0"):
        polling.wait_for("the moon", lambda: 0 * next(calls), timeout_s=0.05, every_s=0.01)
    assert next(calls) <= 8  # at most timeout/every + 2 probes
