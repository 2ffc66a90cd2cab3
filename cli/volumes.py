"""`dockyard get volumes`, `dockyard volume forget APP/VOLUME`, and what `node drain`
says of tasks that stay for their volume.

A node-local volume keeps its tasks on the node holding its data; these commands show
where that is and who uses it, and release a binding when the data is given up.
"""

from __future__ import annotations

import sys
from typing import Any

from dockyard.cli import render
from dockyard.cli.tables import print_rows
from dockyard.client.control import CliError, ControlClient, call, control_stub
from dockyard.v1 import control_pb2


def volume_row(v: control_pb2.VolumeInfo) -> render.Row:
    """One volume for a table or -o json. Pure."""
    where = v.node or (f"driver {v.driver}" if v.driver else "")
    return {
        "app": v.app,
        "name": v.name,
        "node": v.node,
        "driver": v.driver,
        "external": v.external,
        "first_used_ms": v.first_used_ms,
        "remove_from": list(v.remove_from),
        "tasks": [{"task_id": u.task_id, "service": u.service, "slot": u.slot,
                   "node": u.node, "state": u.state} for u in v.users],
        "_where": where or ("external" if v.external else "not bound yet"),
        "_since": render.ago(v.first_used_ms),
        "_users": ", ".join(f"{u.service}.{u.slot}@{u.node or '-'} {u.state}"
                            for u in v.users) or "-",
        "_removing": ",".join(v.remove_from) or "-",
    }


def print_volumes(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    infos = call(args.server, stub.ListVolumes, control_pb2.ListRequest(app=args.app or ""))
    rows = [volume_row(v) for v in infos.volumes]
    if args.output != "table":
        rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    print_rows("volumes", rows, args.output)
    return 0


def cmd_volume(args: Any) -> int:
    app, _, volume = args.target.partition("/")
    if not app or not volume or "/" in volume:
        raise CliError(f"expected APP/VOLUME, got {args.target!r}")
    stub = control_stub(args.server, args.credentials)
    r = call(args.server, stub.ForgetVolume,
             control_pb2.ForgetVolumeRequest(app=app, volume=volume))
    where = r.node or "no node"
    print(f"volume {app}/{volume} forgotten: its tasks may start on an empty volume on any "
          f"node; the data stays on {where}")
    return 0


def drain_report(stub: ControlClient, server: str, node: str) -> None:
    """After a plain drain: which tasks stay on the node for their volume, and how to
    move them anyway."""
    infos = call(server, stub.ListVolumes, control_pb2.ListRequest()).volumes
    for info in infos:
        if info.node != node or info.driver:
            continue
        for u in info.users:
            if u.node == node and not u.recreate:
                print(f"{info.app}/{u.service}.{u.slot} stays on {node}: it holds the "
                      f"node-local volume {info.name} (drain --force stops it; it then "
                      f"waits for {node})", file=sys.stderr)
