"""The server's HTTP port (:7080): `/healthz`, `/metrics` and the web console, on aiohttp.

aiohttp parses and answers requests (`controlplane/console/web.py` holds the routes).
This module puts bounds around it, because the port answers anyone who can reach it:
the request line and headers of a connection must arrive within HEAD_DEADLINE_S (a
client trickling bytes, as slowloris does, gets 408 and a closed connection) and fit in
HEAD_BYTES (else 431), and at most MAX_CONNECTIONS are open at once (more are closed at
once). Every response closes its connection, so each connection carries one request
whose head is bounded. A bad request gets a one-line 4xx, never a traceback in the log.

With `ssl` the port is HTTPS, asking (not requiring) a client certificate, so the admin
credential logs in to the console (see `controlplane/console/web.py`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from dockyard.controlplane.metrics import SESSIONS

__all__ = ["HEAD_BYTES", "HEAD_DEADLINE_S", "SESSIONS", "HeadWatch", "HttpPort", "serve_http"]

HealthProbe = Callable[[], Awaitable[str | None]]

HEAD_DEADLINE_S = 5.0
HEAD_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_CONNECTIONS = 256

log = logging.getLogger(__name__)


def _answer(status: str, text: str) -> bytes:
    body = f"{text}\n".encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class HeadWatch:
    """Follows the bytes of a request head until its blank line. Pure bookkeeping:
    `feed` answers "more", "done" or "too large"."""

    def __init__(self, limit: int = HEAD_BYTES) -> None:
        self._limit = limit
        self._seen = 0
        self._tail = b""
        self.done = False

    def feed(self, data: bytes) -> str:
        if self.done:
            return "done"
        window = self._tail + data
        self._seen += len(data)
        end = window.find(b"\r\n\r\n")
        if end < 0:
            end = window.find(b"\n\n")
        if end >= 0:
            if self._seen - len(window) + end > self._limit:
                return "too large"
            self.done = True
            return "done"
        if self._seen > self._limit:
            return "too large"
        self._tail = window[-3:]
        return "more"


class _Bounded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the head deadline and size bound."""

    def __init__(self, inner: Any, port: HttpPort) -> None:
        self._inner = inner
        self._port = port
        self._head = HeadWatch()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._port.open += 1
        if self._port.open > MAX_CONNECTIONS:
            transport.abort()  # over the bound: close at once
            return
        self._timer = asyncio.get_running_loop().call_later(HEAD_DEADLINE_S, self._late)
        self._inner.connection_made(transport)

    def _refuse(self, status: str, why: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_answer(status, why))
            self._transport.close()

    def _late(self) -> None:
        if not self._head.done:
            self._refuse("408 Request Timeout", "request headers took too long")

    def data_received(self, data: bytes) -> None:
        seen = self._head.feed(data)
        if seen == "too large":
            self._refuse("431 Request Header Fields Too Large",
                         "request line or headers too large")
            return
        if seen == "done" and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return bool(self._inner.eof_received())

    def connection_lost(self, exc: Exception | None) -> None:
        self._port.open -= 1
        if self._timer is not None:
            self._timer.cancel()
        try:
            self._inner.connection_lost(exc)
        except Exception as err:  # never a traceback from a peer's behaviour
            log.debug("HTTP connection lost: %s", err)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class HttpPort:
    """The listening socket and the aiohttp runner behind it."""

    def __init__(self, runner: web.AppRunner) -> None:
        self.runner = runner
        self.open = 0
        self.server: asyncio.Server | None = None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def stop(self) -> None:
        self.close()
        await self.runner.cleanup()


@web.middleware
async def _one_request_per_connection(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.force_close()
    return response


async def serve_http(address: str, app: web.Application, *,
                     ssl: ssl_module.SSLContext | None = None) -> HttpPort:
    """Serve `app` on HOST:PORT within the bounds above. OSError if it cannot listen."""
    host, _, port = address.rpartition(":")
    app.middlewares.append(_one_request_per_connection)
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           max_line_size=HEAD_BYTES, max_field_size=HEAD_BYTES,
                           max_headers=MAX_HEADERS, keepalive_timeout=HEAD_DEADLINE_S)
    await runner.setup()
    bound = HttpPort(runner)
    factory = runner.server
    assert factory is not None
    try:
        bound.server = await asyncio.get_running_loop().create_server(
            lambda: _Bounded(factory(), bound), host.strip("[]") or "0.0.0.0", int(port),
            ssl=ssl, backlog=128)
    except OSError:
        await runner.cleanup()
        raise
    return bound
