"""The HTTP side of the server on :7080: `/healthz` and `/metrics` (Prometheus format).

A deliberately tiny asyncio HTTP/1.1 responder: two GET routes, no framework.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

SESSIONS = Gauge("dockyard_agent_sessions", "Agent sessions open on this replica")

HealthProbe = Callable[[], Awaitable[str | None]]


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, probe: HealthProbe
) -> None:
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
        parts = line.decode("latin-1").split()
        while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
            pass
        path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
        if path == "/healthz":
            problem = await probe()
            if problem is None:
                out = _response("200 OK", b"ok\n", "text/plain")
            else:
                out = _response("503 Service Unavailable", problem.encode() + b"\n", "text/plain")
        elif path == "/metrics":
            out = _response("200 OK", generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        else:
            out = _response("404 Not Found", b"not found\n", "text/plain")
        writer.write(out)
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_http(address: str, probe: HealthProbe) -> asyncio.Server:
    host, _, port = address.rpartition(":")
    return await asyncio.start_server(
        lambda r, w: _handle(r, w, probe), host or "0.0.0.0", int(port)
    )
