"""The aiohttp application of the HTTP port: `/healthz`, `/metrics` and the console.

`/healthz` and `/metrics` answer anyone (probes and Prometheus scrape them). The console
(`/`, `/api/state`, `/api/stream`) is read-only and needs a login: a console token
(`dockyard console-token`), given once at `/login` and then kept in an HttpOnly cookie
that expires with it, or sent as `Authorization: Bearer`; or, when the port serves
HTTPS (`server --http-tls`), the admin credential as the client certificate.

`/api/stream` is a server-sent event stream: `state` (the whole view model, at most
every STATE_EVERY_S, only after a change) and `event` (each cluster event once).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from dockyard.controlplane.console import auth, model
from dockyard.controlplane.console.feed import Feed
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.security import pki

HealthProbe = Callable[[], Awaitable[str | None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE_EVERY_S = 0.5
KEEPALIVE_S = 15.0
MAX_STREAMS = 64
_ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}


@dataclass
class Console:
    """What the console reads: the replica's view, heartbeats, events and its keys."""

    mirror: Mirror
    feed: Feed
    key: bytes
    heartbeat_ms: Callable[[str], int]
    ca: pki.ClusterCA | None = None

    def state(self) -> dict[str, Any]:
        return model.build(self.mirror.view, now_ms=int(time.time() * 1000),
                           heartbeat_ms=self.heartbeat_ms)


def _static(name: str) -> bytes:
    return (resources.files("dockyard.controlplane.console") / "static" / name).read_bytes()


def admin_by_certificate(request: web.Request, ca: pki.ClusterCA | None) -> bool:
    """True when the TLS peer presented the admin credential of this cluster's CA."""
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    if ca is None or not isinstance(ssl_object, ssl.SSLObject):
        return False
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return False  # the handshake verified any certificate it got against the CA
    pem = ssl.DER_cert_to_PEM_cert(der).encode()
    return pki.peer_identity(pem, ca.cert.subject).role == "admin"


def login_problem(request: web.Request, console: Console) -> str | None:
    """Why this request is not logged in, or None when it is."""
    if admin_by_certificate(request, console.ca):
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else request.cookies.get(
        auth.COOKIE, "")
    if not token:
        return "log in with a console token (dockyard console-token)"
    return auth.token_problem(token, console.key, now_s=int(time.time()))


def make_app(probe: HealthProbe, console: Console | None) -> web.Application:
    """The HTTP port's routes; without `console` only /healthz and /metrics."""
    app = web.Application(client_max_size=4096)

    async def healthz(_request: web.Request) -> web.Response:
        problem = await probe()
        if problem is None:
            return web.Response(text="ok\n")
        line = problem.splitlines()[0] if problem.strip() else "not ready"
        return web.Response(status=503, text=line + "\n")

    async def metrics(_request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if console is not None:
        _add_console(app, console)
    return app


def _add_console(app: web.Application, console: Console) -> None:
    streams = 0

    def guarded(handler: Handler, *, page: bool = False) -> Handler:
        async def check(request: web.Request) -> web.StreamResponse:
            problem = login_problem(request, console)
            if problem is None:
                return await handler(request)
            if page:
                return _see_other("/login")
            return web.Response(status=401, text=problem + "\n")
        return check

    async def index(_request: web.Request) -> web.Response:
        return web.Response(body=_static("index.html"), content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _ASSETS:
            raise web.HTTPNotFound(text="not found\n")
        return web.Response(body=_static(name), content_type=_ASSETS[name])

    def login_page(message: str = "", status: int = 200) -> web.Response:
        page = _static("login.html").decode().replace(
            "<!--message-->", f'<p class="error">{_escape(message)}</p>' if message else "")
        return web.Response(status=status, text=page, content_type="text/html")

    def logged_in(request: web.Request, token: str) -> web.Response:
        problem = auth.token_problem(token, console.key, now_s=int(time.time()))
        if problem is not None:
            return login_page(problem, status=401)
        response = _see_other("/")
        response.set_cookie(auth.COOKIE, token.strip(), httponly=True, samesite="Strict",
                            max_age=max(1, auth.token_expiry(token.strip()) - int(time.time())),
                            secure=request.secure, path="/")
        return response

    async def login_get(request: web.Request) -> web.StreamResponse:
        token = request.query.get("token", "")
        if token:
            return logged_in(request, token)
        if login_problem(request, console) is None:
            return _see_other("/")
        return login_page()

    async def login_post(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        return logged_in(request, str(form.get("token", "")))

    async def logout(_request: web.Request) -> web.StreamResponse:
        response = _see_other("/login")
        response.del_cookie(auth.COOKIE, path="/")
        return response

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(console.state())

    async def stream(request: web.Request) -> web.StreamResponse:
        nonlocal streams
        if streams >= MAX_STREAMS:
            return web.Response(status=503, text="too many open console pages\n")
        streams += 1
        client = console.feed.subscribe()
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        try:
            await response.prepare(request)
            while True:
                try:
                    await asyncio.wait_for(client.wake.wait(), KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                client.wake.clear()
                if client.seen_version != console.feed.version:
                    client.seen_version = console.feed.version
                    await response.write(_sse("state", console.state()))
                while client.events:
                    await response.write(_sse("event", client.events.popleft()))
                await asyncio.sleep(STATE_EVERY_S)
        except ConnectionError:
            pass  # the page was closed
        finally:
            streams -= 1
            console.feed.unsubscribe(client)
        return response

    async def no_icon(_request: web.Request) -> web.Response:
        return web.Response(status=204)

    app.router.add_get("/", guarded(index, page=True))
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/static/{name}", asset)
    app.router.add_get("/login", login_get)
    app.router.add_post("/login", login_post)
    app.router.add_get("/logout", logout)
    app.router.add_get("/api/state", guarded(state))
    app.router.add_get("/api/stream", guarded(stream))


def _see_other(path: str) -> web.Response:
    return web.Response(status=303, headers={"Location": path, "Cache-Control": "no-store"})


def _sse(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
