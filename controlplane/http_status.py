"""The HTTP side of the server on :7080: `/healthz` and `/metrics` (Prometheus format).

A deliberately tiny asyncio HTTP/1.1 responder: two GET routes, no framework. It is
reachable by anyone who can reach the port, so every request is bounded before it is
read: the request line and headers must arrive within HEAD_DEADLINE_S in all (a client
trickling bytes, as slowloris does, is cut off), fit in HEAD_BYTES, and count at most
MAX_HEADERS lines; at most MAX_CONNECTIONS are served at once. A request over a bound
gets a one-line 4xx answer or a closed connection, never a traceback in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

SESSIONS = Gauge("dockyard_agent_sessions", "Agent sessions open on this replica")

HealthProbe = Callable[[], Awaitable[str | None]]

HEAD_DEADLINE_S = 5.0
HEAD_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_CONNECTIONS = 256

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """The request cannot be served: `status` is the HTTP status line to answer."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def parse_path(request_line: bytes) -> str:
    """The path of a GET or HEAD request line, without its query. Pure; BadRequest if the
    line is not one."""
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest("400 Bad Request", "malformed request line")
    if parts[0] not in ("GET", "HEAD"):
        raise BadRequest("405 Method Not Allowed", "only GET is served here")
    return parts[1].split("?", 1)[0]


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """The request line, after reading (and dropping) the headers within the bounds."""
    too_large = BadRequest("431 Request Header Fields Too Large",
                           "request line or headers too large")
    used = 0
    lines: list[bytes] = []
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise too_large from None
        except asyncio.IncompleteReadError:
            raise BadRequest("400 Bad Request", "connection closed mid-request") from None
        used += len(line)
        if used > HEAD_BYTES:
            raise too_large
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # tolerate an empty line before the request line (RFC 9112 2.2)
            return lines[0]
        lines.append(line)
        if len(lines) > MAX_HEADERS + 1:
            raise too_large


async def _answer(reader: asyncio.StreamReader, probe: HealthProbe) -> bytes:
    try:
        head = await asyncio.wait_for(_read_head(reader), HEAD_DEADLINE_S)
        path = parse_path(head)
    except TimeoutError:
        return _response("408 Request Timeout", b"request headers took too long\n",
                         "text/plain")
    except BadRequest as exc:
        return _response(exc.status, f"{exc}\n".encode(), "text/plain")
    if path == "/healthz":
        problem = await probe()
        if problem is None:
            return _response("200 OK", b"ok\n", "text/plain")
        line = problem.splitlines()[0] if problem.strip() else "not ready"
        return _response("503 Service Unavailable", line.encode() + b"\n", "text/plain")
    if path == "/metrics":
        return _response("200 OK", generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
    return _response("404 Not Found", b"not found\n", "text/plain")


class _HttpPort:
    def __init__(self, probe: HealthProbe) -> None:
        self._probe = probe
        self._open = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open += 1
        try:
            if self._open > MAX_CONNECTIONS:
                return  # over the bound: close at once
            writer.write(await _answer(reader, self._probe))
            await asyncio.wait_for(writer.drain(), HEAD_DEADLINE_S)
        except (TimeoutError, ConnectionError):
            pass
        except Exception as exc:  # one line, never a traceback: this port faces anyone
            log.warning("HTTP request failed: %s", exc)
        finally:
            self._open -= 1
            writer.close()


async def serve_http(address: str, probe: HealthProbe) -> asyncio.Server:
    host, _, port = address.rpartition(":")
    port_handler = _HttpPort(probe)
    return await asyncio.start_server(port_handler.handle, host or "0.0.0.0", int(port),
                                      limit=HEAD_BYTES)
