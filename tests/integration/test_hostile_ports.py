"""Hostile bytes on the server's ports: slow headers, a huge request line, garbage on the
gRPC port. The server answers 4xx or closes, keeps serving, and logs no traceback."""

from __future__ import annotations

import contextlib
import os
import socket
import time

import pytest

from dockyard.controlplane.http_status import HEAD_DEADLINE_S
from tests.integration.harness import ServerProcess
from tests.integration.test_large_state import healthz

pytestmark = pytest.mark.integration


def exchange(port: int, payload: bytes, *, timeout_s: float = 10.0) -> bytes:
    """Send `payload`, then read the answer until the server closes (b"" on a reset)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        try:
            s.sendall(payload)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except ConnectionResetError:
            return b""


def test_slow_headers_are_cut_off_at_the_deadline(server: ServerProcess) -> None:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=15) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        answer = b""
        for _ in range(int(HEAD_DEADLINE_S * 3)):  # one header byte a second, bounded
            try:
                s.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(1.0)
            try:
                answer = s.recv(4096)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if answer:
                break
        took = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer
    assert took < HEAD_DEADLINE_S * 2, took
    assert healthz(server) == (200, "ok\n")


def test_a_huge_request_line_gets_431_and_no_traceback(server: ServerProcess) -> None:
    answer = exchange(server.http_port, b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431") or answer == b"", answer[:200]
    answer = exchange(server.http_port, b"GET /healthz HTTP/1.1\r\n"
                      + b"X-Pad: y\r\n" * 5000 + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431") or answer == b"", answer[:200]
    status_line = exchange(server.http_port, b"\x00\xff garbage\r\n\r\n").split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.") and b" 400 " in status_line, status_line
    assert healthz(server) == (200, "ok\n")
    assert "Traceback" not in server.log_text()


def test_garbage_on_the_grpc_port_leaves_no_traceback(server: ServerProcess) -> None:
    junk = os.urandom(4096)
    for payload in (junk, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + junk, b"\x16\x03\x01" + junk):
        # Random bytes may announce a longer TLS record than was sent: the server then waits
        # for the rest, which is fine; what matters is that it neither dies nor logs.
        with contextlib.suppress(TimeoutError):
            exchange(server.grpc_port, payload, timeout_s=5)
    assert healthz(server) == (200, "ok\n")
    time.sleep(0.5)
    assert "Traceback" not in server.log_text()
