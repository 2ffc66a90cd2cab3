"""The web console and the metrics on a real server: login tokens from `dockyard
console-token`, the page's state and live stream behind them, /healthz and /metrics open,
and the admin credential as a client certificate on an HTTPS port."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import running_server
from tests.integration.harness import ServerProcess, run_cli
from tests.integration.test_server_cli import SMALL

pytestmark = pytest.mark.integration


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def get(url: str, *, token: str = "", cookie: str = "",
        context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, following no redirect and no proxy."""
    handlers: list[Any] = [urllib.request.ProxyHandler({}), _NoRedirect()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def console_token(server: ServerProcess, *extra: str) -> str:
    return run_cli(server, "console-token", "--quiet", *extra).stdout.strip()


@pytest.fixture
def shop(server: ServerProcess, tmp_path: Path) -> str:
    """The shop app applied (no node has joined); the console's base URL."""
    f = tmp_path / "compose.yaml"
    f.write_text(SMALL)
    run_cli(server, "apply", "-f", str(f))
    return f"http://127.0.0.1:{server.http_port}"


def test_console_token_logs_in_and_the_page_shows_the_applied_app(
    server: ServerProcess, shop: str
) -> None:
    base = shop

    shown = run_cli(server, "console-token").stdout
    assert f"console: {base}/" in shown
    token = re.search(r"token:\s+(\S+)", shown).group(1)  # type: ignore[union-attr]
    assert f"open {base}/login?token={token}" in shown

    status, _, body = get(f"{base}/api/state")
    assert status == 401 and b"console-token" in body
    status, headers, _ = get(f"{base}/")
    assert status == 303 and headers["Location"] == "/login"

    status, headers, _ = get(f"{base}/login?token={token}")
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _, page = get(f"{base}/", cookie=cookie.split(";")[0])
    assert status == 200 and b"/static/console.js" in page

    status, _, body = get(f"{base}/api/state", token=token)
    assert status == 200
    state = json.loads(body)
    [app] = state["apps"]
    assert app["name"] == "shop" and app["waves"] == [["db"], ["web"]]
    assert app["edges"] == [["db", "web"]]
    desired = {s["name"]: s["desired"] for s in state["services"]}
    assert desired == {"db": 1, "web": 3}
    # No node has joined: every task waits, and says why.
    assert len(state["waiting"]) == 4
    assert {w["reason"] for w in state["waiting"]} == {"0/0 nodes fit: the cluster has no nodes"}


def test_a_bad_or_forged_token_does_not_log_in(server: ServerProcess) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    token = console_token(server)
    expiry, nonce, mac = token.split(".")[1:]
    forged = f"dyc1.{int(expiry) + 86400}.{nonce}.{mac}"
    status, _, body = get(f"{base}/api/state", token=forged)
    assert status == 401 and b"not made by this cluster" in body
    status, _, body = get(f"{base}/login?token=nonsense")
    assert status == 401 and b"not a console token" in body
    bad = run_cli(server, "console-token", "--ttl", "30d", check=False)
    assert bad.returncode == 1 and "7 days" in bad.stderr and "Traceback" not in bad.stderr


def test_the_stream_starts_with_the_state_and_healthz_metrics_stay_open(
    server: ServerProcess, shop: str
) -> None:
    base = shop
    token = console_token(server)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(f"{base}/api/stream",
                                 headers={"Authorization": f"Bearer {token}"})
    kinds: list[str] = []
    with opener.open(req, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        for _ in range(200):  # bounded: the state, then the stored events
            line = r.readline().decode().strip()
            if line.startswith("event: "):
                kinds.append(line[7:])
            if "state" in kinds and "event" in kinds:
                break
    assert kinds[0] == "state" and "event" in kinds

    assert get(f"{base}/healthz")[:1] == (200,)
    status, _, metrics = get(f"{base}/metrics")
    text = metrics.decode()
    assert status == 200
    assert 'dockyard_service_replicas{app="shop",service="web",state="desired"} 3.0' in text
    assert 'dockyard_service_replicas{app="shop",service="web",state="running"} 0.0' in text
    assert "dockyard_apply_seconds_count 1.0" in text
    assert "dockyard_reconcile_round_seconds_count" in text
    assert "dockyard_agent_sessions 0.0" in text


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path, "--http-tls")


def test_the_admin_credential_logs_in_as_a_client_certificate(
    tls_server: ServerProcess,
) -> None:
    base = f"https://127.0.0.1:{tls_server.http_port}"
    pem = tls_server.credentials.read_text()
    ca = pem[pem.rindex("-----BEGIN CERTIFICATE-----"):]
    anonymous = ssl.create_default_context(cadata=ca)
    anonymous.check_hostname = False
    assert get(f"{base}/healthz", context=anonymous)[0] == 200
    assert get(f"{base}/api/state", context=anonymous)[0] == 401
    admin = ssl.create_default_context(cadata=ca)
    admin.check_hostname = False
    admin.load_cert_chain(str(tls_server.credentials))
    status, _, body = get(f"{base}/api/state", context=admin)
    assert status == 200 and "nodes" in json.loads(body)
    shown = run_cli(tls_server, "console-token").stdout
    assert f"console: {base}/" in shown
