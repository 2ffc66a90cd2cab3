"""Isolation and the routing mesh as rule text: which ipsets and which rules of the
agent's own chains a node's host needs for the cluster's network table. Pure.

Isolation (Compose `networks:`): an ipset per app network holds its task addresses;
traffic from one cluster address to another is accepted only when both are in one set,
or when it comes from a node itself (a node's gateway address, set `dy-nodes`), or when
it is the routing mesh's. Everything else inside the cluster CIDR is dropped. The sets
and the rule list cover the whole cluster: a packet is judged on the host it enters a
container from, whichever host it left.

The mesh: every ingress port is answered on every node address. A node that runs a
ready task of the service sends to its own tasks; another node spreads the connections
over every ready task (iptables `statistic`, so each task gets an equal share). The
packets are marked, and the mark makes the node source-NAT them to its own gateway
address, so the answer comes back through the node that took the connection.

`ipset_script` is what `ipset restore` reads; `chains_script` what `iptables-restore
--noflush` reads: both rewrite only the agent's own sets and chains, atomically.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MESH_CHAIN = "DOCKYARD-MESH"
POSTROUTING_CHAIN = "DOCKYARD-POSTROUTING"
FORWARD_CHAIN = "DOCKYARD-FORWARD"
SET_PREFIX = "dy-"
NODES_SET = "dy-nodes"
MESH_MARK = "0x2140000/0x2140000"


@dataclass(frozen=True, order=True)
class Members:
    """The task addresses on one app network."""

    app: str
    network: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, order=True)
class MeshPort:
    """One port the mesh answers, and its service's ready tasks."""

    port: int
    protocol: str
    target_port: int
    backends: tuple[str, ...]
    host_ip: str = ""


@dataclass(frozen=True)
class Policy:
    """Everything this node enforces."""

    cluster_cidr: str
    gateway: str  # this node's gateway (source of its mesh connections)
    subnet: str  # this node's subnet (its own tasks)
    node_gateways: tuple[str, ...]
    members: tuple[Members, ...]
    mesh: tuple[MeshPort, ...]


def set_name(app: str, network: str) -> str:
    """An ipset name for an app network: short (ipset allows 31 characters) and stable.
    Pure."""
    digest = hashlib.sha256(f"{app}/{network}".encode()).hexdigest()[:16]
    return f"{SET_PREFIX}{digest}"


def _sets(policy: Policy) -> dict[str, tuple[str, ...]]:
    out = {NODES_SET: tuple(sorted(set(policy.node_gateways)))}
    for m in policy.members:
        out[set_name(m.app, m.network)] = tuple(sorted(set(m.addresses)))
    return out


def wanted_sets(policy: Policy) -> set[str]:
    return set(_sets(policy))


def ipset_script(policy: Policy) -> str:
    """Create each set if missing, then swap in its new content at once. Pure."""
    lines: list[str] = []
    for name, addresses in sorted(_sets(policy).items()):
        new = f"{name}-n"
        lines += [f"create {name} hash:ip -exist", f"create {new} hash:ip -exist",
                  f"flush {new}"]
        lines += [f"add {new} {a}" for a in addresses]
        lines += [f"swap {new} {name}", f"destroy {new}"]
    return "\n".join(lines) + "\n"


def stale_sets(listed: Iterable[str], policy: Policy) -> list[str]:
    """Our sets (by prefix) the policy no longer wants. Pure."""
    keep = wanted_sets(policy)
    return sorted(n for n in listed if n.startswith(SET_PREFIX) and n not in keep)


def local_first(backends: Sequence[str], subnet: str) -> tuple[str, ...]:
    """This node's own ready tasks if it has any, else all of them. Pure."""
    net = ipaddress.IPv4Network(subnet)
    mine = tuple(b for b in backends if ipaddress.IPv4Address(b) in net)
    return mine or tuple(backends)


def mesh_rules(policy: Policy) -> list[str]:
    """The DOCKYARD-MESH chain: mark, then one DNAT per backend, spread evenly. Pure."""
    out: list[str] = []
    for p in sorted(policy.mesh):
        backends = local_first(sorted(p.backends), policy.subnet)
        if not backends:
            continue  # no ready task: nothing answers, as on a single host
        match = f"-p {p.protocol}" + (f" -d {p.host_ip}" if p.host_ip else "") + (
            f" -m {p.protocol} --dport {p.port}")
        out.append(f"-A {MESH_CHAIN} {match} -j MARK --set-xmark {MESH_MARK}")
        n = len(backends)
        for i, b in enumerate(backends):
            spread = (f" -m statistic --mode random --probability {1 / (n - i):.8f}"
                      if i < n - 1 else "")
            out.append(f"-A {MESH_CHAIN} {match}{spread} -j DNAT "
                       f"--to-destination {b}:{p.target_port}")
    return out


def forward_rules(policy: Policy) -> list[str]:
    """The DOCKYARD-FORWARD chain (called first from DOCKER-USER). Pure."""
    cidr = policy.cluster_cidr
    out = [
        f"-A {FORWARD_CHAIN} -m conntrack --ctstate DNAT -j ACCEPT",
        f"-A {FORWARD_CHAIN} ! -s {cidr} -j RETURN",
        f"-A {FORWARD_CHAIN} ! -d {cidr} -j RETURN",
        f"-A {FORWARD_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A {FORWARD_CHAIN} -m set --match-set {NODES_SET} src -j ACCEPT",
    ]
    for m in sorted(policy.members):
        name = set_name(m.app, m.network)
        out.append(f"-A {FORWARD_CHAIN} -m set --match-set {name} src "
                   f"-m set --match-set {name} dst -j ACCEPT")
    out.append(f"-A {FORWARD_CHAIN} -j DROP")
    return out


def postrouting_rules(policy: Policy) -> list[str]:
    """The DOCKYARD-POSTROUTING chain: mesh connections leave from this node's gateway;
    cluster traffic is never masqueraded. Pure."""
    cidr = policy.cluster_cidr
    return [
        f"-A {POSTROUTING_CHAIN} -m mark --mark {MESH_MARK} -j SNAT "
        f"--to-source {policy.gateway}",
        f"-A {POSTROUTING_CHAIN} -s {cidr} -d {cidr} -j ACCEPT",
    ]


def chains_script(policy: Policy) -> str:
    """The agent's three chains, whole, for `iptables-restore --noflush`. Pure."""
    return "\n".join([
        "*nat",
        f":{MESH_CHAIN} - [0:0]",
        f":{POSTROUTING_CHAIN} - [0:0]",
        *mesh_rules(policy),
        *postrouting_rules(policy),
        "COMMIT",
        "*filter",
        f":{FORWARD_CHAIN} - [0:0]",
        *forward_rules(policy),
        "COMMIT",
        "",
    ])
