"""The agent's own iptables rules: one jump, first in each chain it needs, to a chain of
its own; what those chains hold is agent/network/policy.py's.

Docker masquerades everything leaving a bridge network and drops new connections into
containers that do not come through a published port. Containers of other nodes must
reach this node's containers by address, with their own source address, within the
limits of their app networks, and every node answers the routing mesh's ports:

    nat    PREROUTING   -m addrtype --dst-type LOCAL -j DOCKYARD-MESH
    nat    OUTPUT       ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKYARD-MESH
    nat    POSTROUTING  -j DOCKYARD-POSTROUTING
    filter DOCKER-USER  -j DOCKYARD-FORWARD

Each jump carries the comment COMMENT: the agent finds its own rules by it (and only
those), replaces them when they change, and removes them when the node leaves. The
chains are made empty at setup when missing and never flushed then, so an agent restart
leaves running containers' traffic as it was until the new table is applied.
`wanted` and `owned` are pure; `ensure`, `apply_policy` and `remove_all` run iptables.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from dockyard.agent.network.policy import (
    FORWARD_CHAIN,
    MESH_CHAIN,
    POSTROUTING_CHAIN,
    SET_PREFIX,
    Policy,
    chains_script,
    ipset_script,
    stale_sets,
)

COMMENT = "dockyard-network"
CHAINS = (("nat", "PREROUTING"), ("nat", "OUTPUT"), ("nat", "POSTROUTING"),
          ("filter", "DOCKER-USER"))
OWN_CHAINS = (("nat", MESH_CHAIN), ("nat", POSTROUTING_CHAIN), ("filter", FORWARD_CHAIN))

Rule = tuple[str, str, tuple[str, ...]]  # table, chain, rule arguments


class FirewallError(Exception):
    """iptables failed, in one line."""


def wanted(cluster_cidr: str = "") -> list[Rule]:
    """The jumps this node needs, in the form `iptables -S` prints. Pure.

    (`cluster_cidr` is unused: the chains hold everything that depends on it.)"""
    del cluster_cidr
    tag = ("-m", "comment", "--comment", COMMENT)
    local = ("-m", "addrtype", "--dst-type", "LOCAL")
    return [
        ("nat", "PREROUTING", (*local, *tag, "-j", MESH_CHAIN)),
        ("nat", "OUTPUT", ("!", "-d", "127.0.0.0/8", *local, *tag, "-j", MESH_CHAIN)),
        ("nat", "POSTROUTING", (*tag, "-j", POSTROUTING_CHAIN)),
        ("filter", "DOCKER-USER", (*tag, "-j", FORWARD_CHAIN)),
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
    for table, chain in OWN_CHAINS:
        _iptables(table, "-N", chain, check=False)  # made empty if missing, never flushed
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


def _run(argv: list[str], stdin: str) -> str:
    try:
        res = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"{argv[0]}: {exc}") from None
    if res.returncode != 0:
        raise FirewallError(f"{' '.join(argv)}: {res.stderr.strip() or res.returncode}")
    return res.stdout


def _our_sets() -> list[str]:
    try:
        out = _run(["ipset", "list", "-n"], "")
    except FirewallError:
        return []
    return [n for n in out.split() if n.startswith(SET_PREFIX)]


def apply_policy(policy: Policy) -> None:
    """Sets first, then the chains that use them (atomically each), then drop the sets
    no rule uses any more."""
    _run(["ipset", "restore"], ipset_script(policy))
    _run(["iptables-restore", "-w", "5", "--noflush"], chains_script(policy))
    for name in stale_sets(_our_sets(), policy):
        subprocess.run(["ipset", "destroy", name], capture_output=True, timeout=30, check=False)


def remove_all() -> int:
    """Remove every rule, chain and set of ours (the node leaves); returns how many
    jumps."""
    have = present()
    for table, chain, rule in have:
        _iptables(table, "-D", chain, *rule, check=False)
    for table, chain in OWN_CHAINS:
        _iptables(table, "-F", chain, check=False)
        _iptables(table, "-X", chain, check=False)
    for name in _our_sets():
        subprocess.run(["ipset", "destroy", name], capture_output=True, timeout=30, check=False)
    return len(have)
