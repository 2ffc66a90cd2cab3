"""Service discovery: a small DNS server on the node's container gateway.

Containers get this node's gateway as their resolver and `<app>.dockyard` as their
search domain, so `db` resolves as `db.<app>.dockyard` to the addresses of the db
service's ready tasks, wherever they run. The table comes from the control plane with
each change, and answers carry a 1 s TTL, so a name follows its tasks when they move.
`answer` is pure; `ServiceDNS` is the UDP socket around it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

log = logging.getLogger("dockyard.agent.dns")

ZONE = "dockyard"
TTL_S = 1


def search_domain(app: str) -> str:
    return f"{app}.{ZONE}"


def table_from(endpoints: Iterable[tuple[str, str, Sequence[str]]]) -> dict[str, list[str]]:
    """(app, service, addresses) rows to {"service.app.dockyard.": [addresses]}. Pure."""
    return {
        f"{service}.{app}.{ZONE}.".lower(): sorted(addresses)
        for app, service, addresses in endpoints
    }


def answer(query: bytes, table: Mapping[str, Sequence[str]]) -> bytes | None:
    """The wire answer to a wire query, or None for garbage. Pure."""
    try:
        msg = dns.message.from_wire(query)
    except (dns.exception.DNSException, ValueError):
        return None
    resp = dns.message.make_response(msg)
    resp.flags |= dns.flags.AA
    if not msg.question:
        resp.set_rcode(dns.rcode.FORMERR)
        return resp.to_wire()
    q = msg.question[0]
    name = q.name.to_text().lower()
    addresses = table.get(name)
    if addresses is None:
        # Not ours. Nothing outside the cluster is reachable, so say so at once.
        resp.set_rcode(dns.rcode.NXDOMAIN if name.endswith(f".{ZONE}.") else dns.rcode.REFUSED)
        return resp.to_wire()
    if q.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and addresses:
        resp.answer.append(
            dns.rrset.from_text_list(q.name, TTL_S, dns.rdataclass.IN, dns.rdatatype.A,
                                     list(addresses))
        )
    return resp.to_wire()


class ServiceDNS(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = answer(data, self.table)
        if out is not None and self._transport is not None:
            self._transport.sendto(out, addr)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve_dns(address: str, port: int = 53) -> ServiceDNS | None:
    """Listen on `address`:`port`; None (with a warning) when that is not possible."""
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_datagram_endpoint(
            ServiceDNS, local_addr=(address, port)
        )
    except OSError as exc:
        log.warning("service discovery off: cannot listen on %s:%d: %s", address, port,
                    exc.strerror)
        return None
    log.info("service discovery on %s:%d", address, port)
    return protocol
