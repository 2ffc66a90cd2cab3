"""The names the node's DNS server answers: the app zone and the table of services.

Pure, and apart from agent/dns.py (the server, over dnspython) so that what every
runner needs (a task's search domain, the table built from the control plane's
endpoints) does not load a DNS library: an agent process without a node network (the
hollow nodes of `make bench-scale`, ten processes at a thousand nodes) starts without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

ZONE = "dockyard"


def is_ours(name: str, table: Mapping[str, Sequence[str]]) -> bool:
    """True for names the agent answers itself: the app zone and its table. Pure."""
    name = name.lower()
    return name in table or name == f"{ZONE}." or name.endswith(f".{ZONE}.")


def search_domain(app: str) -> str:
    return f"{app}.{ZONE}"


def table_from(endpoints: Iterable[tuple[str, str, Sequence[str]]]) -> dict[str, list[str]]:
    """(app, service, addresses) rows to {"service.app.dockyard.": [addresses]}. Pure."""
    return {
        f"{service}.{app}.{ZONE}.".lower(): sorted(addresses)
        for app, service, addresses in endpoints
    }
