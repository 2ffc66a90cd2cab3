"""Service discovery: a small DNS server on the node's container gateway.

Containers get this node's gateway as their resolver and `<app>.dockyard` as their
search domain, so `db` resolves as `db.<app>.dockyard` to the addresses of the db
service's ready tasks, wherever they run. The table comes from the control plane with
each change, and answers carry a 1 s TTL, so a name follows its tasks when they move.

Every other name goes to the host's own resolvers (its resolv.conf; behind
systemd-resolved's 127.0.0.53 stub, the real ones it lists in
/run/systemd/resolve/resolv.conf), or to `--dns-upstream`: a container resolves what
its host resolves. `answer` and `parse_resolv_conf` are pure; `ServiceDNS` is the UDP
socket around them; the names and the table are in agent/dnsnames.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dockyard.agent.dnsnames import ZONE, is_ours

log = logging.getLogger("dockyard.agent.dns")

TTL_S = 1
RESOLV_CONF = Path("/etc/resolv.conf")
RESOLVED_CONF = Path("/run/systemd/resolve/resolv.conf")
RESOLVED_STUB = "127.0.0.53"
UPSTREAM_TIMEOUT_S = 2.0
MAX_FORWARDS = 256  # queries in flight to upstreams; more are answered SERVFAIL

Upstream = tuple[str, int]


def parse_resolv_conf(text: str) -> list[str]:
    """The `nameserver` addresses of a resolv.conf, in order. Pure."""
    out = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            out.append(words[1])
    return out


def parse_upstreams(text: str) -> list[Upstream]:
    """'IP[:PORT],IP[:PORT]' (port 53 by default) to a list. Pure; raises ValueError."""
    out: list[Upstream] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        host, sep, port = item.rpartition(":")
        if not sep or "." not in item or not port.isdigit():
            host, port = item, "53"
        parts = host.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise ValueError(f"bad DNS upstream {item!r} (want IP or IP:PORT)")
        out.append((host, int(port)))
    return out


def host_upstreams(
    resolv_conf: Path = RESOLV_CONF, resolved_conf: Path = RESOLVED_CONF
) -> list[Upstream]:
    """The host's resolvers; systemd-resolved's stub is replaced by what it forwards to."""
    try:
        servers = parse_resolv_conf(resolv_conf.read_text())
    except OSError:
        servers = []
    if RESOLVED_STUB in servers:
        try:
            servers = parse_resolv_conf(resolved_conf.read_text()) or servers
        except OSError:
            pass
    return [(s, 53) for s in servers if ":" not in s]  # IPv4 only, as the agent's socket


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


def _question_name(query: bytes) -> str | None:
    try:
        msg = dns.message.from_wire(query)
    except (dns.exception.DNSException, ValueError):
        return None
    return msg.question[0].name.to_text() if msg.question else None


def _servfail(query: bytes) -> bytes | None:
    try:
        resp = dns.message.make_response(dns.message.from_wire(query))
    except (dns.exception.DNSException, ValueError):
        return None
    resp.set_rcode(dns.rcode.SERVFAIL)
    return resp.to_wire()


class ServiceDNS(asyncio.DatagramProtocol):
    def __init__(self, upstreams: Sequence[Upstream] = ()) -> None:
        self.table: dict[str, list[str]] = {}
        self.upstreams: list[Upstream] = list(upstreams)
        self._transport: asyncio.DatagramTransport | None = None
        self._forwards: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        name = _question_name(data)
        if name is not None and self.upstreams and not is_ours(name, self.table):
            if len(self._forwards) >= MAX_FORWARDS:
                self._send(_servfail(data), addr)
                return
            task = asyncio.get_running_loop().create_task(self._forward(data, addr))
            self._forwards.add(task)
            task.add_done_callback(self._forwards.discard)
            return
        self._send(answer(data, self.table), addr)

    def _send(self, out: bytes | None, addr: tuple[str, int]) -> None:
        if out is not None and self._transport is not None:
            self._transport.sendto(out, addr)

    async def _forward(self, data: bytes, addr: tuple[str, int]) -> None:
        """Ask each upstream in turn (UDP, TCP when truncated); SERVFAIL if none answers."""
        query = dns.message.from_wire(data)
        for host, port in self.upstreams:
            try:
                resp, _tcp = await dns.asyncquery.udp_with_fallback(
                    query, host, port=port, timeout=UPSTREAM_TIMEOUT_S)
            except (dns.exception.DNSException, OSError) as exc:
                log.debug("upstream %s:%d failed for %s: %s", host, port, query.question, exc)
                continue
            self._send(resp.to_wire(), addr)
            return
        self._send(_servfail(data), addr)

    def close(self) -> None:
        for task in list(self._forwards):
            task.cancel()
        if self._transport is not None:
            self._transport.close()


async def serve_dns(
    address: str, port: int = 53, upstreams: Sequence[Upstream] = ()
) -> ServiceDNS | None:
    """Listen on `address`:`port`; None (with a warning) when that is not possible."""
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_datagram_endpoint(
            lambda: ServiceDNS(upstreams), local_addr=(address, port)
        )
    except OSError as exc:
        log.warning("service discovery off: cannot listen on %s:%d: %s", address, port,
                    exc.strerror)
        return None
    log.info("service discovery on %s:%d; other names go to %s", address, port,
             ", ".join(f"{h}:{p}" for h, p in upstreams) or "nowhere (refused)")
    return protocol
