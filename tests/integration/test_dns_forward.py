"""The agent's DNS on loopback: app names from its table, every other name forwarded to
the upstream (a real dnspython-built server on another loopback port), SERVFAIL when
the upstream is dead."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from dockyard.agent.dns import serve_dns
from dockyard.agent.dnsnames import table_from
from dockyard.deploy.testbed import upstream_dns
from tests.integration.harness import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def upstream() -> Iterator[int]:
    port = free_port()
    records = upstream_dns.parse_records(["registry.testbed=10.213.0.1"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(4096)
            except TimeoutError:
                continue
            out = upstream_dns.answer(data, records)
            if out is not None:
                sock.sendto(out, addr)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield port
    stop.set()
    t.join(timeout=2)
    sock.close()


async def _ask(port: int, name: str) -> dns.message.Message:
    q = dns.message.make_query(name, "A")
    return await dns.asyncquery.udp(q, "127.0.0.1", port=port, timeout=3)


def test_outside_names_go_upstream_and_app_names_stay_local(upstream: int) -> None:
    async def scenario() -> None:
        port = free_port()
        server = await serve_dns("127.0.0.1", port, upstreams=[("127.0.0.1", upstream)])
        assert server is not None
        server.table = table_from([("shop", "db", ["10.214.2.7"])])
        try:
            out = await _ask(port, "registry.testbed")
            assert [r.to_text() for r in out.answer[0]] == ["10.213.0.1"]
            out = await _ask(port, "db.shop.dockyard")
            assert [r.to_text() for r in out.answer[0]] == ["10.214.2.7"]
            out = await _ask(port, "missing.shop.dockyard")
            assert out.rcode() == dns.rcode.NXDOMAIN
            out = await _ask(port, "elsewhere.example")  # the upstream refuses it
            assert out.rcode() == dns.rcode.REFUSED
        finally:
            server.close()

    asyncio.run(scenario())


def test_dead_upstream_is_servfail() -> None:
    async def scenario() -> None:
        port = free_port()
        server = await serve_dns("127.0.0.1", port, upstreams=[("127.0.0.1", free_port())])
        assert server is not None
        try:
            out = await _ask(port, "registry.testbed")
            assert out.rcode() == dns.rcode.SERVFAIL
        finally:
            server.close()

    asyncio.run(scenario())
