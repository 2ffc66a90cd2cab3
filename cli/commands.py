"""One function per CLI subcommand. Each returns an exit code or raises CliError."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import grpc

from dockyard.cli import render
from dockyard.cli.tables import print_rows, write_out
from dockyard.cli.volumes import drain_report, print_volumes
from dockyard.client.control import CliError, call, control_stub, describe_rpc_error
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2

if TYPE_CHECKING:
    from dockyard.client.compose import LoadedApp

# The Compose loader (dockyard.client.compose, with the DAG's networkx) is imported only by the
# commands that read a Compose file: a `get` or `describe` does not pay for it.


def _warn(loaded: LoadedApp) -> None:
    for w in loaded.warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_config(args: Any) -> int:
    from dockyard.client.compose import render_app
    from dockyard.client.compose_files import load_compose
    from dockyard.common.spec.privileges import required_privileges

    loaded = load_compose(args.files, args.profiles)
    _warn(loaded)
    needed = required_privileges(loaded.spec)
    if needed:
        print(f"note: this app needs --allow {','.join(sorted(needed))} to be applied",
              file=sys.stderr)
    print(render_app(loaded.spec), end="")
    return 0


def cmd_apply(args: Any) -> int:
    from dockyard.cli.builds import build_images
    from dockyard.cli.engine_notes import engine_warnings, needs_engine_check
    from dockyard.cli.placement import placement_lines, placement_rows
    from dockyard.client.compose_files import compose_base, load_compose
    from dockyard.common.spec.privileges import parse_allow

    loaded = load_compose(args.files, args.profiles)
    _warn(loaded)
    try:
        allow = parse_allow(args.allow)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    stub = control_stub(args.server, args.credentials)
    dry_run = bool(getattr(args, "dry_run", False))
    built = build_images(loaded.spec, base=compose_base(args.files), stub=stub,
                         server=args.server, dry_run=dry_run)
    if needs_engine_check(loaded.spec):
        nodes = call(args.server, stub.ListNodes, control_pb2.ListRequest()).nodes
        for line in engine_warnings(loaded.spec, nodes):
            print(f"warning: {line}", file=sys.stderr)
    # The server decides (its own --allow or this one); it refuses with one line.
    request = control_pb2.ApplyRequest(spec=loaded.spec, allow=sorted(allow), dry_run=dry_run)
    resp = call(args.server, stub.Apply, request)
    if args.output == "json" or args.output == "yaml":
        rows: dict[str, Any] = {
            "app": resp.app.meta.id,
            "changes": [{"service": c.service, "action": c.action, "detail": c.detail,
                         **({"placements": placement_rows(c)} if dry_run else {})}
                        for c in resp.changes]}
        if built:
            rows["builds"] = [{"service": b.service, "action": b.action, "image": b.image,
                               "where": b.where} for b in built]
        if dry_run:
            rows["dry_run"] = True
        print(render.dump(rows, args.output))
    else:
        for c in resp.changes:
            print(f"{resp.app.meta.id}/{c.service} {'would be ' if dry_run else ''}{c.action}"
                  + (f": {c.detail}" if c.detail else ""))
            for line in placement_lines(c.service, c.placements):
                print(line)
        if dry_run:
            print("dry run: nothing was built or stored")
    if args.wait and not dry_run:
        from dockyard.cli.wait import expected_versions, wait_for_app

        # The spec as stored, not as sent: the server points secrets and configs at
        # their stored versions, and that is what the new tasks' hash is made of.
        return wait_for_app(stub, args.server, resp.app.meta.id, timeout_s=args.timeout,
                            expected=expected_versions(resp.app.spec))
    return 0


def cmd_get(args: Any) -> int:
    if args.kind in ("volumes", "volume"):
        return print_volumes(args)
    stub = control_stub(args.server, args.credentials)
    req = control_pb2.ListRequest(app=args.app or "")
    rows: list[render.Row]
    if args.kind in ("apps", "app"):
        r = call(args.server, stub.ListApps, req)
        rows = [render.app_row(a, r.services) for a in r.apps]
        kind = "apps"
    elif args.kind in ("services", "service", "svc"):
        rows = [render.service_row(s) for s in call(args.server, stub.ListServices, req).services]
        kind = "services"
    elif args.kind in ("tasks", "task"):
        from operator import itemgetter

        # The rows as JSON text, in order (common/taskrows.py): `-o json` prints it as it
        # is. A server that does not know it sends tasks, brief if it knows that.
        req.brief = req.json_rows = True
        answer = call(args.server, stub.ListTasks, req)
        if answer.json_rows and args.output == "json":
            write_out(answer.json_rows + b"\n")
            return 0
        if answer.json_rows:
            import json

            rows = json.loads(answer.json_rows)
        else:
            rows = [render.task_row(t) for t in answer.tasks]
            rows.sort(key=itemgetter("app", "service", "slot"))
        kind = "tasks"
    else:
        listed = call(args.server, stub.ListNodes, req)
        alloc = {n: (r.cpu_millis, r.memory_bytes) for n, r in listed.allocated.items()}
        if not alloc and listed.nodes:  # a server that leaves the sums to the client
            alloc = render.allocated_by_node(call(args.server, stub.ListTasks, req).tasks)
        rows = [render.node_row(n, alloc.get(n.meta.id, (0, 0))) for n in listed.nodes]
        kind = "nodes"
    print_rows(kind, rows, args.output)
    return 0


def cmd_describe(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    d = call(args.server, stub.DescribeApp, control_pb2.GetAppRequest(name=args.name))
    if args.output != "table":
        out = {
            "app": d.app.meta.id,
            "waves": [list(w.services) for w in d.waves],
            "services": [render.service_row(s) for s in d.services],
            "tasks": [render.task_row(t) for t in d.tasks],
            "events": [{"timestamp_ms": e.timestamp_ms, "object": e.object,
                        "message": e.message} for e in d.events],
        }
        print(render.dump(out, args.output))
        return 0
    print(f"App:      {d.app.meta.id}")
    print(f"Strategy: {render.strategy_name(d.app.spec.strategy)}")
    print("Start order:")
    for i, w in enumerate(d.waves, 1):
        print(f"  wave {i}: {', '.join(w.services)}")
    print("Services:")
    by_svc: dict[str, list[objects_pb2.Task]] = {}
    for t in d.tasks:
        by_svc.setdefault(t.service, []).append(t)
    for s in d.services:
        wait = f"  {s.status.waiting_on}" if s.status.waiting_on else ""
        print(f"  {s.spec.name}: {s.status.running}/{s.spec.replicas} running, "
              f"{s.status.healthy} healthy{wait}")
        if s.update.state:
            why = f": {s.update.message}" if s.update.message else ""
            print(f"    update: {render.update_state(s.update)}{why}")
        for t in sorted(by_svc.get(s.spec.name, []), key=lambda t: t.slot):
            row = render.task_row(t)
            msg = f"  {row['message']}" if row["message"] else ""
            health = f" ({row['health']})" if row["health"] not in ("", "none") else ""
            print(f"    {s.spec.name}.{t.slot} {t.meta.id} on {t.node or '-'}: "
                  f"{row['state']}{health}{msg}")
    from dockyard.cli.files import describe_lines

    files = describe_lines(d.app.spec)
    if files:
        print("Secrets and configs (content never shown):", *files, sep="\n")
    print("Events:")
    for e in d.events[-20:]:
        print(f"  {render.ago(e.timestamp_ms):>8}  {e.object}: {e.message}")
    return 0


def cmd_delete(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    r = call(args.server, stub.DeleteApp,
             control_pb2.DeleteAppRequest(name=args.name, volumes=args.volumes))
    print(f"app {args.name} deleted" if r.deleted else f"app {args.name} not found; nothing to do")
    if r.volumes:
        print(f"volumes {', '.join(r.volumes)} are removed from the nodes once its "
              "containers are gone (`dockyard get volumes` lists them until then)")
    return 0


def cmd_scale(args: Any) -> int:
    target, _, count = args.target.partition("=")
    app, _, service = target.partition("/")
    if not (app and service and count.isdigit()):
        raise CliError(f"expected APP/SERVICE=N, got {args.target!r}")
    from dockyard.common.spec.rules import REPLICAS_CEILING

    if int(count) > REPLICAS_CEILING:  # past int32 too: the wire could not carry it
        raise CliError(f"replicas {count} is more than any server accepts "
                       f"({REPLICAS_CEILING:,}; see docs/limits.md)")
    stub = control_stub(args.server, args.credentials)
    svc = call(args.server, stub.Scale,
               control_pb2.ScaleRequest(app=app, service=service, replicas=int(count)))
    print(f"{svc.app}/{svc.spec.name} scaled to {svc.spec.replicas}")
    app_spec = call(args.server, stub.GetApp, control_pb2.GetAppRequest(name=app)).spec
    note = scale_note(app_spec, service, svc.spec.replicas)
    if note:
        print(note, file=sys.stderr)
    return 0


def scale_note(app_spec: specs_pb2.AppSpec, service: str, replicas: int) -> str:
    """The reminder `scale` prints: the file is the source of truth, so the next apply
    sets the count back to the file's. Empty when the file says the same. Pure."""
    in_file = next((s.replicas for s in app_spec.services if s.name == service), replicas)
    if in_file == replicas:
        return ""
    return (f"note: the file of {app_spec.name} says {in_file}; the next apply sets "
            f"{service} back to {in_file} replicas (change the file to keep {replicas})")


def cmd_node(args: Any) -> int:
    if args.action == "rm":
        stub = control_stub(args.server, args.credentials)
        r = call(args.server, stub.RemoveNode, control_pb2.RemoveNodeRequest(node=args.name))
        print(f"node {args.name} removed" if r.removed
              else f"node {args.name} not found; nothing to do")
        return 0
    avail = objects_pb2.DRAIN if args.action == "drain" else objects_pb2.ACTIVE
    stub = control_stub(args.server, args.credentials)
    force = args.force and avail == objects_pb2.DRAIN
    node = call(args.server, stub.SetAvailability,
                control_pb2.SetAvailabilityRequest(node=args.name, availability=avail,
                                                   force=force))
    print(f"node {node.meta.id} {'drained' if avail == objects_pb2.DRAIN else 'active'}"
          + (" (forced: tasks holding node-local volumes stop too)" if force else ""))
    if avail == objects_pb2.DRAIN and not force:
        drain_report(stub, args.server, node.meta.id)
    return 0


def cmd_token(args: Any) -> int:
    stub = control_stub(args.server, args.credentials)
    r = call(args.server, stub.JoinToken,
             control_pb2.JoinTokenRequest(role=args.role, rotate=args.rotate))
    print(r.token)
    return 0


def cmd_logs(args: Any) -> int:
    from dockyard.cli.exec import parse_target

    app, service, slot = parse_target(args.target)
    stub = control_stub(args.server, args.credentials)
    req = control_pb2.LogsRequest(app=app, service=service, follow=args.follow,
                                  tail=args.tail, slot=slot)
    partial: dict[str, str] = {}
    try:
        for chunk in stub.Logs(req, timeout=None if args.follow else 60):
            prefix = f"{chunk.service}.{chunk.slot}@{chunk.node} | "
            if chunk.notice:
                print(f"{prefix}[{chunk.notice}]", file=sys.stderr)
                continue
            text = partial.pop(chunk.task_id, "") + chunk.data.decode("utf-8", "replace")
            *lines, rest = text.split("\n")
            for line in lines:
                print(prefix + line, flush=True)
            if rest:
                partial[chunk.task_id] = rest
    except grpc.RpcError as exc:
        raise CliError(describe_rpc_error(exc, args.server)) from None
    except KeyboardInterrupt:
        return 130
    return 0
