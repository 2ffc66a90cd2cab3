"""How objects look to a user: rows for tables, and plain dicts for -o json/yaml. Pure.

JSON and YAML carry the same fields as the table, with exact numbers (bytes,
milliseconds) instead of rounded ones, so scripts never parse a table.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dockyard.common.taskrows import Row, crash_loop, enum_name, state_name, task_row
from dockyard.v1 import objects_pb2, specs_pb2

__all__ = ["Row", "crash_loop", "task_row"]  # a task's row is common/taskrows.py's

_enum = enum_name


def size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale or (scale > 1024 and round(n / scale, 1) >= 1):
            v = n / scale
            if round(v, 1) < 10 and round(v, 1) != round(v):
                return f"{v:.1f}{unit}"
            return f"{round(v)}{unit}"
    return f"{n}B"


def cpus(millis: int) -> str:
    return f"{millis / 1000:g}"


def ago(ms: int, *, now_ms: int | None = None) -> str:
    if not ms:
        return "-"
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    s = max(0, (now - ms) // 1000)
    if s < 120:
        return f"{s}s ago"
    if s < 7200:
        return f"{s // 60}m ago"
    return f"{s // 3600}h ago"


def task_state(task: objects_pb2.Task) -> str:
    return state_name(task.status.state, task.node)


def pending_reason(task: objects_pb2.Task) -> str:
    """Why a task has no node, named: "db.1 waits for its volume db-data, which lives on
    h2 (down since 12:01 UTC)", "web.2 pending: 0/3 nodes fit: ..."."""
    reason = task.unplaced_reason
    joint = " " if reason.startswith("waits ") else " pending: "
    return f"{task.service}.{task.slot}{joint}{reason}"


def allocated_by_node(tasks: Iterable[objects_pb2.Task]) -> dict[str, tuple[int, int]]:
    cpu: dict[str, int] = defaultdict(int)
    mem: dict[str, int] = defaultdict(int)
    for t in tasks:
        if t.node and t.desired_state in (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING):
            cpu[t.node] += t.spec.reservations.cpu_millis
            mem[t.node] += t.spec.reservations.memory_bytes
    return {n: (cpu[n], mem[n]) for n in set(cpu) | set(mem)}


def node_row(node: objects_pb2.Node, allocated: tuple[int, int] = (0, 0)) -> Row:
    d = node.description
    return {
        "name": node.meta.id,
        "state": _enum(objects_pb2.NodeState, node.state, strip="NODE_"),
        "availability": _enum(objects_pb2.Availability, node.availability),
        "address": d.address,
        "subnet": node.subnet,
        "cpu_millis": d.capacity.cpu_millis,
        "memory_bytes": d.capacity.memory_bytes,
        "allocated_cpu_millis": allocated[0],
        "allocated_memory_bytes": allocated[1],
        "labels": dict(d.labels),
        "last_heartbeat_ms": node.last_heartbeat_ms,
        "message": node.message,
    }


def service_row(svc: objects_pb2.Service) -> Row:
    return {
        "app": svc.app,
        "service": svc.spec.name,
        "image": svc.spec.image,
        "replicas": svc.spec.replicas,
        "running": svc.status.running,
        "healthy": svc.status.healthy,
        "waiting_on": svc.status.waiting_on,
        "ports": [f"{p.host_port}:{p.container_port}/{p.protocol or 'tcp'}"
                  for p in svc.spec.ports if p.host_port],
        "update": update_state(svc.update),
        "update_message": svc.update.message,
    }


def update_state(update: objects_pb2.UpdateStatus) -> str:
    """"updating", "paused", "rolling back", ...; empty before any update."""
    return _enum(objects_pb2.UpdateState, update.state).removeprefix("update_").replace(
        "_", " ")


def version_row(version: objects_pb2.AppVersion, *, current: int) -> Row:
    return {
        "version": version.number,
        "applied_ms": version.applied_ms,
        "source": version.source,
        "changes": list(version.changes),
        "images": {s.name: s.image for s in version.spec.services},
        "current": version.number == current,
    }


def app_row(app: objects_pb2.App, services: Sequence[objects_pb2.Service]) -> Row:
    mine = [s for s in services if s.app == app.meta.id]
    return {
        "name": app.meta.id,
        "services": len(mine),
        "replicas": sum(s.spec.replicas for s in mine),
        "running": sum(s.status.running for s in mine),
        "healthy": sum(s.status.healthy for s in mine),
        "updated_ms": app.meta.updated_ms,
        "spec_hash": app.spec_hash[:12],
    }


TABLE_COLUMNS: Mapping[str, Sequence[tuple[str, str]]] = {
    "apps": (("NAME", "name"), ("SERVICES", "services"), ("REPLICAS", "replicas"),
             ("RUNNING", "running"), ("HEALTHY", "healthy")),
    "services": (("APP", "app"), ("SERVICE", "service"), ("IMAGE", "image"),
                 ("REPLICAS", "replicas"), ("RUNNING", "running"), ("HEALTHY", "healthy"),
                 ("WAITING ON", "waiting_on")),
    "tasks": (("ID", "id"), ("SERVICE", "_svc"), ("NODE", "node"), ("DESIRED", "desired"),
              ("STATE", "state"), ("HEALTH", "health"), ("CONTAINER", "_cid"),
              ("MESSAGE", "message")),
    "nodes": (("NAME", "name"), ("STATE", "state"), ("AVAIL", "availability"),
              ("ADDRESS", "address"), ("SUBNET", "subnet"), ("CPUS", "_cpus"), ("MEMORY", "_mem"),
              ("LABELS", "_labels"), ("HEARTBEAT", "_hb")),
    "history": (("CURRENT", "_current"), ("VERSION", "version"), ("APPLIED", "_applied"),
                ("SOURCE", "source"), ("CHANGES", "_changes")),
    "volumes": (("APP", "app"), ("VOLUME", "name"), ("WHERE", "_where"),
                ("FIRST USED", "_since"), ("TASKS", "_users"), ("REMOVING FROM", "_removing")),
    "contexts": (("CURRENT", "_current"), ("NAME", "name"), ("SERVERS", "_servers"),
                 ("CREDENTIALS", "credentials")),
    "files": (("NAME", "name"), ("VERSION", "version"), ("DIGEST", "_digest"),
              ("SIZE", "size"), ("USED BY", "_used_by")),
}


_DERIVED: Mapping[str, Callable[[Row], str]] = {
    "_svc": lambda row: f"{row['app']}/{row['service']}.{row['slot']}",
    "_cid": lambda row: str(row["container_id"])[:12],
    "_cpus": lambda row: f"{cpus(row['allocated_cpu_millis'])}/{cpus(row['cpu_millis'])}",
    "_mem": lambda row: f"{size(row['allocated_memory_bytes'])}/{size(row['memory_bytes'])}",
    "_labels": lambda row: ",".join(f"{k}={v}" for k, v in sorted(row["labels"].items()))
    or "-",
    "_digest": lambda row: f"sha256:{str(row['digest'])[:12]}",
    "_used_by": lambda row: ",".join(row["used_by"]) or "-",
    "_hb": lambda row: ago(row["last_heartbeat_ms"]),
    "_current": lambda row: "*" if row["current"] else "",
    "_applied": lambda row: ago(row["applied_ms"]),
    "_changes": lambda row: "; ".join(row["changes"]),
    "_servers": lambda row: ",".join(row["servers"]),
}


def _field_text(key: str) -> Callable[[Row], str]:
    def text(row: Row) -> str:
        value = row.get(key, "")
        return "" if value is None else str(value)
    return text


def _cells(key: str) -> Callable[[Row], str]:
    """The function that makes one column's cell of a row: a row's field, or a derived
    one (`_` keys)."""
    return _DERIVED.get(key) or _field_text(key)


def cell(row: Row, key: str) -> str:
    """The text of one table cell: a row's field, or a derived one (`_` keys)."""
    return _cells(key)(row)


def table(kind: str, rows: Sequence[Row]) -> str:
    """The plain table: a header line, then a line per row, columns two spaces apart,
    each as wide as its widest cell, no spaces at the end of a line. Made a column at a
    time (a `get tasks` of 10,000 rows draws 80,000 cells). Pure."""
    columns = [[header, *map(_cells(key), rows)] for header, key in TABLE_COLUMNS[kind]]
    padded = [[c.ljust(width) for c in column]
              for column, width in zip(columns, (max(map(len, c)) for c in columns),
                                       strict=True)]
    return "\n".join(line.rstrip() for line in map("  ".join, zip(*padded, strict=True)))


def dump(rows: Any, fmt: str) -> str:
    if fmt == "json":
        from dockyard.cli.jsontext import dumps

        return dumps(rows)
    import yaml  # only -o yaml pays for it

    return yaml.safe_dump(rows, sort_keys=True, default_flow_style=False).rstrip()


def strategy_name(value: int) -> str:
    return _enum(specs_pb2.Strategy, value) or "binpack"
