"""`dockyard events [-f] [--app APP] [-o json]`: what happened in the cluster and its apps.

One Watch stream from the server: first the events it still keeps, oldest first, then,
with -f, each new one as etcd commits it (the server watches from the revision it read
the stored ones at, so none is missed or shown twice). Nothing here polls. Each event is
one line: `-o json` prints one JSON object per line, flushed at once, for scripts.
Ctrl-C ends a follow with exit code 130 and no traceback.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import grpc

from dockyard.client.control import CliError, control_stub, describe_rpc_error
from dockyard.v1 import control_pb2, objects_pb2


def event_row(ev: objects_pb2.Event) -> dict[str, Any]:
    """An event as the fields `-o json` prints. Pure."""
    return {"timestamp_ms": ev.timestamp_ms, "kind": ev.kind, "object": ev.object,
            "app": ev.app, "message": ev.message}


def event_line(row: dict[str, Any], *, utc: bool = False) -> str:
    """An event as one line of text: local time (to the millisecond), kind, object,
    what happened. Pure given `utc` (tests pin the clock's zone)."""
    secs, ms = divmod(int(row["timestamp_ms"]), 1000)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs) if utc else time.localtime(secs))
    return f"{when}.{ms:03d}  {row['kind'] or '-':<8} {row['object'] or '-'}  {row['message']}"


def cmd_events(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    req = control_pb2.WatchRequest(app=args.app or "", history=True,
                                   stop_after_history=not args.follow)
    try:
        for ev in stub.Watch(req, timeout=None if args.follow else 30):
            row = event_row(ev)
            if args.output == "json":
                print(json.dumps(row, sort_keys=True), flush=True)
            else:
                print(event_line(row), flush=True)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.CANCELLED:
            return 130
        raise CliError(describe_rpc_error(exc, args.server)) from None
    except KeyboardInterrupt:
        sys.stdout.flush()
        return 130
    return 0
