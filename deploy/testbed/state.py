"""The testbed's state file: a JSON record of everything ``up`` made.

``down`` removes exactly what is recorded here (processes by pid and start time,
namespaces, links, routes, iptables rules), so it works after a crash of everything.
Writes are atomic (temp file + rename); ``locked`` serialises up/down on one machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .processes import ProcRecord

STATE_VERSION = 1


@dataclass(frozen=True)
class IptablesRule:
    """One iptables rule we inserted; ``netns`` None means the root namespace."""

    netns: str | None
    table: str
    chain: str
    rule: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "netns": self.netns,
            "table": self.table,
            "chain": self.chain,
            "rule": list(self.rule),
        }


@dataclass
class TestbedState:
    """What exists (or existed) of the testbed; mutated by ``up`` and saved often."""

    __test__ = False  # not a pytest test class

    nodes: int
    node_cpus: str = ""
    node_memory: str = ""
    labels: list[str] = field(default_factory=list)
    with_dockyard: bool = True
    bridge: str | None = None
    netns: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    root_routes: list[dict[str, str]] = field(default_factory=list)
    iptables: list[IptablesRule] = field(default_factory=list)
    processes: dict[str, ProcRecord] = field(default_factory=dict)
    image: str | None = None
    # HA shape (absent in older state files: one server with its embedded etcd)
    etcd_members: int = 0
    servers: int = 1
    segments: int = 1

    def add_unique(self, attr: str, value: str) -> None:
        items: list[str] = getattr(self, attr)
        if value not in items:
            items.append(value)

    def add_rule(self, rule: IptablesRule) -> None:
        if rule not in self.iptables:
            self.iptables.append(rule)

    def to_json(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "nodes": self.nodes,
            "node_cpus": self.node_cpus,
            "node_memory": self.node_memory,
            "labels": self.labels,
            "with_dockyard": self.with_dockyard,
            "bridge": self.bridge,
            "netns": self.netns,
            "links": self.links,
            "root_routes": self.root_routes,
            "iptables": [r.to_json() for r in self.iptables],
            "processes": {k: v.to_json() for k, v in self.processes.items()},
            "image": self.image,
            "etcd_members": self.etcd_members,
            "servers": self.servers,
            "segments": self.segments,
        }

    @staticmethod
    def from_json(d: dict[str, object]) -> TestbedState:
        def strs(key: str) -> list[str]:
            v = d.get(key) or []
            return [str(x) for x in v] if isinstance(v, list) else []

        rules: list[IptablesRule] = []
        for r in d.get("iptables") or []:  # type: ignore[attr-defined]
            rules.append(
                IptablesRule(
                    netns=r.get("netns"),
                    table=str(r["table"]),
                    chain=str(r["chain"]),
                    rule=tuple(str(x) for x in r["rule"]),
                )
            )
        procs_raw = d.get("processes") or {}
        procs = (
            {str(k): ProcRecord.from_json(v) for k, v in procs_raw.items()}
            if isinstance(procs_raw, dict)
            else {}
        )
        routes_raw = d.get("root_routes") or []
        routes = (
            [{str(k): str(v) for k, v in r.items()} for r in routes_raw]
            if isinstance(routes_raw, list)
            else []
        )
        bridge, image = d.get("bridge"), d.get("image")
        return TestbedState(
            nodes=int(str(d.get("nodes", 0))),
            node_cpus=str(d.get("node_cpus") or ""),
            node_memory=str(d.get("node_memory") or ""),
            labels=strs("labels"),
            with_dockyard=bool(d.get("with_dockyard", True)),
            bridge=str(bridge) if bridge else None,
            netns=strs("netns"),
            links=strs("links"),
            root_routes=routes,
            iptables=rules,
            processes=procs,
            image=str(image) if image else None,
            etcd_members=int(str(d.get("etcd_members") or 0)),
            servers=int(str(d.get("servers") or 1)),
            segments=int(str(d.get("segments") or 1)),
        )


def load(path: Path) -> TestbedState | None:
    """The recorded state, or None if there is none (or it is unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return TestbedState.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def save(path: Path, st: TestbedState) -> None:
    """Write the state atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(st.to_json(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock so two up/down runs never interleave on one machine."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
