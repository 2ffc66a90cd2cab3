"""The agent's session rules that need no server: backoff, refusals, kept identity, token."""

from __future__ import annotations

import argparse
import itertools
import os
import stat
from pathlib import Path

import grpc
import pytest

from dockyard.agent import identity as ident
from dockyard.agent.backoff import (
    backoff_s,
    heartbeat_timeout_s,
    heartbeat_wait_s,
    register_timeout_s,
    session_backoff_s,
    status_timeout_s,
)
from dockyard.agent.cli import join_token
from dockyard.controlplane.security import pki


def test_backoff_doubles_to_a_cap_with_jitter_between_half_and_all() -> None:
    fulls = [backoff_s(n, 0.999999) for n in range(1, 10)]
    assert fulls[:4] == pytest.approx([0.2, 0.4, 0.8, 1.6], rel=1e-4)
    assert max(fulls) == pytest.approx(4.0, rel=1e-4)
    assert all(a <= b for a, b in itertools.pairwise(fulls))
    assert backoff_s(3, 0.0) == pytest.approx(0.4)  # half of 0.8
    assert {round(backoff_s(5, r / 10), 3) for r in range(10)} != {backoff_s(5, 0.0)}


def test_heartbeat_timeout_allows_a_slow_server() -> None:
    assert heartbeat_timeout_s(1.0) == 5.0
    assert heartbeat_timeout_s(4.0) == 12.0


def test_timeouts_grow_after_failures_instead_of_resending_the_same_work() -> None:
    assert [heartbeat_timeout_s(1.0, n) for n in range(6)] == [5, 10, 20, 30, 30, 30]
    assert [register_timeout_s(n) for n in range(6)] == [30, 60, 60, 60, 60, 60]
    assert [status_timeout_s(n) for n in range(6)] == [5, 10, 20, 30, 30, 30]


def test_heartbeats_are_jittered_around_the_period_and_retries_never_wait_longer() -> None:
    waits = [heartbeat_wait_s(1.0, 0, r / 100) for r in range(100)]
    assert min(waits) >= 0.9 and max(waits) <= 1.1 and len(set(waits)) > 50
    for failures in range(1, 20):
        for r in (0.0, 0.5, 0.999):
            assert 0 < heartbeat_wait_s(1.0, failures, r) <= 1.0


def test_an_overloaded_server_gets_a_longer_backoff_than_an_unreachable_one() -> None:
    down = max(session_backoff_s(20, 0.999, None) for _ in range(3))
    busy = session_backoff_s(20, 0.999, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert down <= 4.0 < busy <= 15.0
    assert session_backoff_s(20, 0.999, grpc.StatusCode.RESOURCE_EXHAUSTED) == busy


def test_only_tls_alerts_count_as_a_refused_token() -> None:
    assert ident.refused_by("TLSV1_ALERT_UNKNOWN_CA")
    assert ident.refused_by("SSLV3_ALERT_BAD_CERTIFICATE")
    assert not ident.refused_by("UNEXPECTED_EOF_WHILE_READING")
    assert not ident.refused_by("WRONG_VERSION_NUMBER")


def test_identity_is_kept_private_and_read_back_only_for_its_node(tmp_path: Path) -> None:
    ca = pki.create_ca()
    me = ident.Identity.fresh("n1")
    me.adopt(pki.sign_node_csr(ca, me.csr(), "n1", valid_s=600), ca.cert_pem)
    path = tmp_path / "identity" / "n1.pem"
    me.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    back = ident.Identity.load(path, "n1")
    assert back is not None and back.cert == me.cert and back.ca_digest() == ca.digest
    assert ident.Identity.load(path, "n2") is None
    assert ident.Identity.load(tmp_path / "none.pem", "n1") is None
    path.write_text("garbage")
    assert ident.Identity.load(path, "n1") is None


def test_join_token_comes_from_the_file_then_the_environment_then_the_flag(
    tmp_path: Path,
) -> None:
    f = tmp_path / "token"
    f.write_text("  from-file\n")
    args = argparse.Namespace(token_file=str(f), token="from-flag")
    assert join_token(args, {"DOCKYARD_TOKEN": "from-env"}) == "from-file"
    args.token_file = ""
    assert join_token(args, {"DOCKYARD_TOKEN": "from-env"}) == "from-env"
    assert join_token(args, {}) == "from-flag"
    args.token_file = str(tmp_path / "missing")
    with pytest.raises(ValueError, match="cannot read the join token file"):
        join_token(args, {})
    (tmp_path / "empty").write_text("\n")
    args.token_file = str(tmp_path / "empty")
    with pytest.raises(ValueError, match="is empty"):
        join_token(args, {})


def test_a_checked_ca_is_kept_per_address_and_token_and_forgotten_after_a_failed_join(
) -> None:
    """Hollow nodes of one process share one check of the server's CA; a token that names
    no CA is never kept (the agent trusts what the server shows, and says so, each time)."""
    named = "dyt1-" + "ab" * 32 + "-secret"
    cas = ident.CheckedCas()
    cas.keep("10.0.0.1:7070", named, b"CA")
    cas.keep("10.0.0.1:7070", "just-a-secret", b"CA")
    assert cas.get("10.0.0.1:7070", named) == b"CA"
    assert cas.get("10.0.0.2:7070", named) is None
    assert cas.get("10.0.0.1:7070", "just-a-secret") is None
    cas.forget("10.0.0.1:7070", named)
    assert cas.get("10.0.0.1:7070", named) is None


def test_a_retry_window_retries_what_waiting_can_change_until_it_gives_up() -> None:
    import grpc

    from dockyard.agent.backoff import RetryWindow

    now = [0.0]
    window = RetryWindow(lambda: now[0])
    assert window.retry_after(grpc.StatusCode.DEADLINE_EXCEEDED)
    assert not window.retry_after(grpc.StatusCode.NOT_FOUND)
    assert window.failures == 2
    window.ok()
    assert window.failures == 0
    now[0] = 31.0
    assert not window.retry_after(grpc.StatusCode.UNAVAILABLE)


def test_nodes_joining_together_share_the_one_check_of_the_ca_under_way() -> None:
    """A hundred hollow nodes of one process start at once: one of them checks the
    server's CA (a TLS handshake), the others wait for that check instead of each making
    its own; a refusal reaches every one of them, and the next join checks again."""
    import asyncio

    named = "dyt1-" + "ab" * 32 + "-secret"
    address = "10.0.0.1:7070"

    async def scenario() -> None:
        cas = ident.CheckedCas()
        runs = []

        async def check() -> bytes:
            runs.append(1)
            await asyncio.sleep(0.01)
            return b"CA"

        got = await asyncio.gather(*(cas.check(address, named, check) for _ in range(100)))
        assert got == [b"CA"] * 100 and len(runs) == 1
        assert await cas.check(address, named, check) == b"CA" and len(runs) == 1

        cas.forget(address, named)

        async def refused() -> bytes:
            runs.append(1)
            await asyncio.sleep(0.01)
            raise ident.TokenRefused("invalid join token")

        out = await asyncio.gather(*(cas.check(address, named, refused) for _ in range(5)),
                                   return_exceptions=True)
        assert all(isinstance(e, ident.TokenRefused) for e in out) and len(runs) == 2
        assert cas.get(address, named) is None
        assert await cas.check(address, named, check) == b"CA" and len(runs) == 3

        # A token naming no CA: every join checks for itself, nothing is kept.
        runs.clear()
        await asyncio.gather(*(cas.check(address, "just-a-secret", check) for _ in range(3)))
        assert len(runs) == 3 and cas.get(address, "just-a-secret") is None

    asyncio.run(scenario())


def test_a_cancelled_check_fails_the_joins_waiting_for_it_without_cancelling_them() -> None:
    import asyncio

    named = "dyt1-" + "cd" * 32 + "-secret"

    async def scenario() -> None:
        cas = ident.CheckedCas()
        started = asyncio.Event()

        async def slow() -> bytes:
            started.set()
            await asyncio.sleep(10)
            return b"CA"

        first = asyncio.create_task(cas.check("a:1", named, slow))
        await started.wait()
        waiter = asyncio.create_task(cas.check("a:1", named, slow))
        await asyncio.sleep(0)
        first.cancel()
        out = await asyncio.gather(first, waiter, return_exceptions=True)
        assert isinstance(out[0], asyncio.CancelledError)
        assert isinstance(out[1], ConnectionError)

    asyncio.run(scenario())
