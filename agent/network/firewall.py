"""The agent's own iptables rules: cluster traffic is never masqueraded, and Docker's
filter lets it in.

Docker masquerades everything leaving a bridge network and drops new connections into
containers that do not come through a published port. Containers of other nodes must
reach this node's containers by address, with their own source address, so two rules go
first in their chains:

    nat    POSTROUTING  -s CLUSTER -d CLUSTER -j RETURN
    filter DOCKER-USER  -s CLUSTER -d CLUSTER -j ACCEPT

Each carries the comment COMMENT: the agent finds its own rules by it (and only those),
replaces them when the cluster CIDR changes, and removes them when the node leaves.
`wanted` and `owned` are pure; `ensure` and `remove_all` run iptables.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

COMMENT = "dockyard-network"
CHAINS = (("nat", "POSTROUTING"), ("filter", "DOCKER-USER"))

Rule = tuple[str, str, tuple[str, ...]]  # table, chain, rule arguments


class FirewallError(Exception):
    """iptables failed, in one line."""


def wanted(cluster_cidr: str) -> list[Rule]:
    """The rules this node needs for `cluster_cidr`, in the form `iptables -S` prints. Pure."""
    tag = ("-m", "comment", "--comment", COMMENT)
    return [
        ("nat", "POSTROUTING", ("-s", cluster_cidr, "-d", cluster_cidr, *tag, "-j", "RETURN")),
        ("filter", "DOCKER-USER", ("-s", cluster_cidr, "-d", cluster_cidr, *tag, "-j", "ACCEPT")),
    ]


def owned(table: str, chain: str, listing: str) -> list[Rule]:
    """The rules of `chain` in an `iptables -S CHAIN` listing that carry COMMENT. Pure."""
    out: list[Rule] = []
    for line in listing.splitlines():
        words = shlex.split(line)
        if len(words) > 2 and words[0] == "-A" and words[1] == chain and COMMENT in words:
            out.append((table, chain, tuple(words[2:])))
    return out


def _iptables(table: str, *args: str, check: bool = True) -> str:
    argv = ["iptables", "-w", "5", "-t", table, *args]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"{' '.join(argv)}: {exc}") from None
    if check and res.returncode != 0:
        raise FirewallError(f"{' '.join(argv)}: {res.stderr.strip() or res.returncode}")
    return res.stdout


def present() -> list[Rule]:
    """Every rule of ours now in the kernel."""
    out: list[Rule] = []
    for table, chain in CHAINS:
        out += owned(table, chain, _iptables(table, "-S", chain, check=False))
    return out


def ensure(cluster_cidr: str) -> int:
    """Make our rules exactly `wanted(cluster_cidr)`, each first in its chain; returns
    how many rules were added or removed."""
    want = wanted(cluster_cidr)
    have = present()
    changed = 0
    for table, chain, rule in have:
        if (table, chain, rule) not in want:
            _iptables(table, "-D", chain, *rule, check=False)
            changed += 1
    for table, chain, rule in want:
        if (table, chain, rule) in have and _first(table, chain, rule):
            continue
        if table == "filter":
            _iptables(table, "-N", chain, check=False)  # Docker makes it; be sure
        if (table, chain, rule) in have:
            _iptables(table, "-D", chain, *rule, check=False)
        _iptables(table, "-I", chain, "1", *rule)
        changed += 1
    return changed


def _first(table: str, chain: str, rule: Sequence[str]) -> bool:
    lines = [ln for ln in _iptables(table, "-S", chain, check=False).splitlines()
             if ln.startswith("-A ")]
    return bool(lines) and tuple(shlex.split(lines[0])[2:]) == tuple(rule)


def remove_all() -> int:
    """Remove every rule of ours (the node leaves); returns how many."""
    have = present()
    for table, chain, rule in have:
        _iptables(table, "-D", chain, *rule, check=False)
    return len(have)
