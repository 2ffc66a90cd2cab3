"""The testbed's upstream DNS server: what a site's own resolver is to a real host.

It runs in the root namespace on the testbed bridge and answers a fixed set of names
(``registry.testbed`` -> the registry's address); every other name gets REFUSED, since
nothing outside the testbed is reachable. Agents are started with ``--dns-upstream``
pointing here, so a container resolving ``registry.testbed`` proves the whole path:
container -> agent DNS on its node's gateway -> upstream.

Run as ``python -m deploy.testbed.upstream_dns --listen IP:PORT NAME=IP ...``.
``answer`` is pure.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Mapping

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL_S = 5


def answer(query: bytes, records: Mapping[str, str]) -> bytes | None:
    """The wire answer for a wire query from `records` (lower-case FQDN -> IPv4). Pure."""
    try:
        msg = dns.message.from_wire(query)
    except (dns.exception.DNSException, ValueError):
        return None
    resp = dns.message.make_response(msg)
    if not msg.question:
        resp.set_rcode(dns.rcode.FORMERR)
        return resp.to_wire()
    q = msg.question[0]
    address = records.get(q.name.to_text().lower())
    if address is None:
        resp.set_rcode(dns.rcode.REFUSED)
        return resp.to_wire()
    resp.flags |= dns.flags.AA
    if q.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
        resp.answer.append(dns.rrset.from_text(q.name, TTL_S, dns.rdataclass.IN,
                                               dns.rdatatype.A, address))
    return resp.to_wire()


def parse_records(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, address = item.partition("=")
        if not sep or not name or not address:
            raise ValueError(f"bad record {item!r} (want NAME=IP)")
        out[name.lower().rstrip(".") + "."] = address
    return out


def serve(listen: str, records: Mapping[str, str]) -> None:
    host, _, port = listen.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        print(f"upstream DNS on {listen}: {dict(records)}", flush=True)
        while True:
            data, addr = sock.recvfrom(4096)
            out = answer(data, records)
            if out is not None:
                sock.sendto(out, addr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="upstream_dns", description=__doc__)
    p.add_argument("--listen", required=True, help="IP:PORT")
    p.add_argument("records", nargs="*", metavar="NAME=IP")
    args = p.parse_args(argv)
    try:
        records = parse_records(args.records)
        serve(args.listen, records)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
