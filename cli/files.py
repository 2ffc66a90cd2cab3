"""`dockyard secret create|ls|rm` and `dockyard configs create|ls|rm`.

Configs live under `configs` because `dockyard config` already prints an app's
normalized Compose file. Neither command ever prints content: `ls` shows names,
versions, digests and the services using each object.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dockyard.cli import render
from dockyard.cli.subcommands import COMMANDS
from dockyard.cli.tables import print_rows
from dockyard.client.control import CliError, call, control_stub
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def file_row(f: objects_pb2.StoredFile, used_by: list[str]) -> render.Row:
    """What `ls` shows of one object: never its content. Pure."""
    return {"name": f.meta.id, "kind": f.kind, "version": f.version, "digest": f.digest,
            "size": f.size, "app": f.app, "used_by": used_by, "updated_ms": f.meta.updated_ms}


def cmd_files(args: Any) -> int:
    kind = COMMANDS[args.command]
    stub = control_stub(args.server, args.credentials)
    if args.verb == "create":
        data = _read(args.file)
        f = call(args.server, stub.PutFile,
                 control_pb2.PutFileRequest(kind=kind, name=args.name, data=data))
        if args.output != "table":
            print(render.dump(file_row(f, []), args.output))
        else:
            print(f"{kind} {f.meta.id} version {f.version} (sha256 {f.digest[:12]})")
        return 0
    if args.verb == "rm":
        r = call(args.server, stub.RemoveFile,
                 control_pb2.RemoveFileRequest(kind=kind, name=args.name))
        if args.output != "table":
            print(render.dump({"name": args.name, "removed": r.removed}, args.output))
        else:
            print(f"{kind} {args.name} removed" if r.removed
                  else f"{kind} {args.name} not found; nothing to do")
        return 0
    listed = call(args.server, stub.ListFiles, control_pb2.ListFilesRequest(kind=kind))
    rows = [file_row(s.file, list(s.used_by)) for s in listed.files]
    print_rows("files", rows, args.output)
    return 0


def describe_lines(spec: specs_pb2.AppSpec) -> list[str]:
    """`describe app`'s lines for the app's secrets and configs: names, objects,
    versions and digests. Pure."""
    lines = []
    for kind, objects in (("secret", spec.secrets), ("config", spec.configs)):
        for obj in objects:
            where = f"external {obj.object}" if obj.external else obj.object
            lines.append(f"  {kind} {obj.name}: {where} version {obj.version}, "
                         f"{obj.size} bytes, sha256 {obj.digest[:12]}")
    return lines
