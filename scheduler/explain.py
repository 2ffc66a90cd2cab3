"""Human-readable sizes and "why is this pending?" sentences.

Why this module exists: Dockyard promises answers to "why is this pending?".  The
scheduler is the only component that knows why each node refused a task, so it writes
the sentence ("0/40 nodes fit: 31 insufficient memory (needs 4 GiB), 9 failed
node.labels.zone==b") and the control plane shows it as is.  All wording lives here so
that the rules and ``never_fits`` say the same thing the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from dockyard.scheduler.model import BoundVolume, Constraint, Resources

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
TIB = 1024 * GIB

NODE_DOWN = "node down"
NODE_DRAINED = "node drained"
INSUFFICIENT_CPU = "insufficient cpu"
INSUFFICIENT_MEMORY = "insufficient memory"


def _trim(number: float, places: int = 2) -> str:
    text = f"{number:.{places}f}".rstrip("0").rstrip(".")
    return text if text else "0"


def format_bytes(count: int) -> str:
    """``4294967296`` -> ``"4 GiB"``, ``1610612736`` -> ``"1.5 GiB"``, ``512`` -> ``"512 B"``."""
    sign = "-" if count < 0 else ""
    size = abs(count)
    for unit, scale in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= scale:
            return f"{sign}{_trim(size / scale)} {unit}"
    return f"{sign}{size} B"


def format_cpus(millis: int) -> str:
    """``1500`` -> ``"1.5 cpus"``, ``1000`` -> ``"1 cpu"``, ``5`` -> ``"0.005 cpus"``."""
    text = _trim(millis / 1000, places=3)
    return f"{text} cpu" if text in ("1", "-1") else f"{text} cpus"


def failed_constraint(constraint: Constraint) -> str:
    """``"failed node.labels.zone==b"``."""
    return f"failed {constraint}"


def port_in_use(port: int) -> str:
    """``"port 8080 in use"``."""
    return f"port {port} in use"


def max_per_node_reached(limit: int) -> str:
    """``"max_per_node 1 reached"``."""
    return f"max_per_node {limit} reached"


def volume_elsewhere(volume: BoundVolume) -> str:
    """``"volume db-data lives on h2"``: a node refused for not holding the volume."""
    return f"volume {volume.name} lives on {volume.node}"


def down_since(ms: int) -> str:
    """``"down since 12:01 UTC"`` (the clock time, in UTC); ``"down"`` when unknown."""
    if ms <= 0:
        return "down"
    return "down since " + time.strftime("%H:%M UTC", time.gmtime(ms / 1000))


def node_gone(app: str, volume: str) -> str:
    """Why a volume's node takes nothing when it has left the cluster, and the way out."""
    return (f"no longer in the cluster; `dockyard volume forget {app}/{volume}` lets it "
            "start on an empty volume")


def waits_for_volume(names: Sequence[str], node: str, why: str) -> str:
    """``"waits for its volume db-data, which lives on h2 (down since 12:01 UTC)"``."""
    if len(names) == 1:
        return f"waits for its volume {names[0]}, which lives on {node} ({why})"
    return f"waits for its volumes {', '.join(names)}, which live on {node} ({why})"


def volumes_apart(volumes: Sequence[BoundVolume]) -> str:
    """A task whose bound volumes live on different nodes can run nowhere."""
    where = ", ".join(f"{v.name} on {v.node}" for v in volumes)
    return f"waits for its volumes, which live on different nodes ({where})"


def detailed(*, reason: str, demand: Resources) -> str:
    """A node-level reason with what the task needs, for the summary sentence."""
    if reason == INSUFFICIENT_CPU:
        return f"{reason} (needs {format_cpus(demand.cpu_millis)})"
    if reason == INSUFFICIENT_MEMORY:
        return f"{reason} (needs {format_bytes(demand.memory_bytes)})"
    return reason


def summarise_rejections(*, total: int, fitting: int, counts: Mapping[str, int]) -> str:
    """``"0/40 nodes fit: 31 insufficient memory (needs 4 GiB), 9 failed ..."``.

    ``counts`` maps a reason to the number of nodes that gave it; the most common
    reason comes first, and ties are broken by the text so the sentence is stable.
    """
    if total == 0:
        return "0/0 nodes fit: the cluster has no nodes"
    parts = [
        f"{count} {reason}"
        for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if count > 0
    ]
    head = f"{fitting}/{total} nodes fit"
    return f"{head}: {', '.join(parts)}" if parts else head
