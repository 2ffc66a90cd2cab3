"""`dockyard history` and `dockyard rollback`: an app's kept versions, and going back to one.

The control plane keeps the last 10 versions of each app (controlplane/history.py);
`rollback` applies one of them again as a new version, and its services update per
their `rollback_config`. With `--wait` it follows the rollback as `apply --wait`
follows an update.
"""

from __future__ import annotations

from typing import Any

from dockyard.cli import render
from dockyard.cli.tables import print_rows
from dockyard.client.control import call, control_stub
from dockyard.v1 import control_pb2


def cmd_history(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    r = call(args.server, stub.History, control_pb2.HistoryRequest(app=args.app))
    rows = [render.version_row(v, current=r.current) for v in r.versions]
    print_rows("history", rows, args.output)
    return 0


def cmd_rollback(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    resp = call(args.server, stub.Rollback,
                control_pb2.RollbackRequest(app=args.app, to=args.to))
    app = resp.app.meta.id
    if all(c.action == "unchanged" for c in resp.changes):
        print(f"app {app} unchanged: it already runs that version")
    else:
        print(f"app {app} rolling back: version {resp.app.version}")
        for c in resp.changes:
            print(f"{app}/{c.service} {c.action}" + (f": {c.detail}" if c.detail else ""))
    if args.wait:
        from dockyard.cli.wait import expected_versions, wait_for_app

        return wait_for_app(stub, args.server, app, timeout_s=args.timeout,
                            expected=expected_versions(resp.app.spec), what="rollback")
    return 0
