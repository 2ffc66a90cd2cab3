"""Network plumbing of the testbed: bridge, namespaces, veth pairs, routes, iptables.

Every function is idempotent: ``ensure_*`` creates only what is missing and ``remove_*``
tolerates what is already gone. Commands are ``ip`` and ``iptables`` from iproute2 and
iptables; ``ns`` arguments name a namespace (None = the root namespace).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from .layout import HostPlan, Route, RouterLeg


class CommandError(RuntimeError):
    """A system command failed; the message holds the command and its stderr."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30.0) -> str:
    """Run a command; raise ``CommandError`` with its stderr if it fails and ``check``."""
    try:
        res = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        if check:
            raise CommandError(f"{' '.join(argv)}: {e}") from e
        return ""
    if check and res.returncode != 0:
        raise CommandError(f"{' '.join(argv)}: {res.stderr.strip() or res.returncode}")
    return res.stdout


def ok(argv: Sequence[str]) -> bool:
    """True if the command exits 0 (its output is discarded)."""
    try:
        res = subprocess.run(list(argv), capture_output=True, timeout=30, check=False)
        return res.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ip(ns: str | None, *args: str, check: bool = True) -> str:
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def _nsenter(ns: str | None) -> list[str]:
    return ["nsenter", f"--net=/var/run/netns/{ns}", "--"] if ns else []


# --- queries ------------------------------------------------------------------------------


def netns_exists(name: str) -> bool:
    return Path("/var/run/netns", name).exists()


def link_exists(name: str, ns: str | None = None) -> bool:
    return ok(["ip", *(["-n", ns] if ns else []), "link", "show", "dev", name])


def list_netns(prefix: str) -> list[str]:
    d = Path("/var/run/netns")
    return sorted(p.name for p in d.iterdir() if p.name.startswith(prefix)) if d.is_dir() else []


def list_links(prefix: str) -> list[str]:
    out = run(["ip", "-o", "link", "show"], check=False)
    names = [ln.split(":")[1].strip().split("@")[0] for ln in out.splitlines() if ":" in ln]
    return sorted(n for n in names if n.startswith(prefix))


# --- bridge and hosts ---------------------------------------------------------------------


def ensure_bridge(bridge: str, address: str | None, prefixlen: int) -> None:
    """The bridge, up; with `address` the root namespace is on that segment too."""
    if not link_exists(bridge):
        ip(None, "link", "add", bridge, "type", "bridge")
    if address:
        ip(None, "addr", "replace", f"{address}/{prefixlen}", "dev", bridge)
    ip(None, "link", "set", bridge, "up")


def ensure_router(name: str, legs: Sequence[RouterLeg]) -> None:
    """A namespace that forwards between segments: one veth leg on each bridge."""
    if not netns_exists(name):
        ip(None, "netns", "add", name)
    for leg in legs:
        if not link_exists(leg.inner, name):
            if link_exists(leg.veth):
                ip(None, "link", "del", leg.veth, check=False)
            ip(None, "link", "add", leg.veth, "type", "veth", "peer", "name", f"{leg.veth}p",
               "netns", name)
            ip(name, "link", "set", f"{leg.veth}p", "name", leg.inner)
        ip(None, "link", "set", leg.veth, "master", leg.bridge)
        ip(None, "link", "set", leg.veth, "up")
        ip(name, "addr", "replace", f"{leg.address}/24", "dev", leg.inner)
        ip(name, "link", "set", leg.inner, "up")
    ip(name, "link", "set", "lo", "up")
    run([*_nsenter(name), "sysctl", "-qw", "net.ipv4.ip_forward=1"])


def ensure_host(h: HostPlan, bridge: str) -> None:
    """Namespace, veth pair (root side on the bridge, ``eth0`` inside), address, lo up."""
    if not netns_exists(h.netns):
        ip(None, "netns", "add", h.netns)
    if not link_exists("eth0", h.netns):
        if link_exists(h.veth):
            ip(None, "link", "del", h.veth, check=False)
        peer = f"{h.veth}p"
        ip(None, "link", "add", h.veth, "type", "veth", "peer", "name", peer, "netns", h.netns)
        ip(h.netns, "link", "set", peer, "name", "eth0")
    ip(None, "link", "set", h.veth, "master", bridge)
    ip(None, "link", "set", h.veth, "up")
    ip(h.netns, "addr", "replace", f"{h.address}/{h.prefixlen}", "dev", "eth0")
    ip(h.netns, "link", "set", "lo", "up")
    ip(h.netns, "link", "set", "eth0", "up")


def ensure_routes(ns: str | None, routes: Sequence[Route]) -> None:
    for r in routes:
        ip(ns, "route", "replace", r.dest, "via", r.via, "dev", r.device)


def set_link(name: str, up: bool) -> None:
    ip(None, "link", "set", name, "up" if up else "down")


def remove_netns(name: str) -> None:
    if netns_exists(name):
        ip(None, "netns", "del", name, check=False)


def remove_link(name: str) -> None:
    if link_exists(name):
        ip(None, "link", "del", name, check=False)


def remove_route(ns: str | None, r: Route) -> None:
    ip(ns, "route", "del", r.dest, "via", r.via, check=False)


# --- iptables -----------------------------------------------------------------------------


def iptables_has(ns: str | None, table: str, chain: str, rule: Sequence[str]) -> bool:
    return ok([*_nsenter(ns), "iptables", "-w", "-t", table, "-C", chain, *rule])


def iptables_ensure_first(ns: str | None, table: str, chain: str, rule: Sequence[str]) -> None:
    """Make ``rule`` the first rule of ``chain`` (removing older copies first)."""
    for _ in range(10):
        if not iptables_has(ns, table, chain, rule):
            break
        run([*_nsenter(ns), "iptables", "-w", "-t", table, "-D", chain, *rule], check=False)
    run([*_nsenter(ns), "iptables", "-w", "-t", table, "-I", chain, "1", *rule])


def iptables_remove(ns: str | None, table: str, chain: str, rule: Sequence[str]) -> None:
    """Delete every copy of ``rule`` (bounded); a missing rule or chain is fine."""
    for _ in range(10):
        if not iptables_has(ns, table, chain, rule):
            return
        run([*_nsenter(ns), "iptables", "-w", "-t", table, "-D", chain, *rule], check=False)


def forward_rule(bridge: str) -> list[str]:
    """Root-namespace FORWARD rule letting traffic cross the testbed bridge."""
    return ["-i", bridge, "-o", bridge, "-j", "ACCEPT"]


# --- mounts -------------------------------------------------------------------------------


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first."""
    prefix = str(path).rstrip("/")
    out: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for ln in lines:
        parts = ln.split()
        if len(parts) > 4:
            mp = parts[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return sorted(set(out), key=lambda m: (-m.count("/"), m))


def unmount_all(path: Path) -> None:
    """Unmount (lazily, bounded) everything mounted at or below ``path``."""
    for _ in range(5):
        mps = mounts_under(path)
        if not mps:
            return
        for mp in mps:
            run(["umount", "-l", mp], check=False)
