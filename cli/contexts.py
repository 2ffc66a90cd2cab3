"""`dockyard context add|use|ls|rm`: several clusters, each with its server addresses and
admin credential, kept in ~/.dockyard/contexts.json (mode 0600) with the current one.

The file is read only when a command needs a context (see `resolve_client` in
client/target.py for the order), and written whole through a temporary file, so a
crash never leaves half a file. The functions that change a `Contexts` are pure; reading
and writing the file stay at the edges (`load`, `save`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from dockyard.client.errors import CliError
from dockyard.client.target import Context, Contexts, check_context_name, parse_servers

DEV_CONTEXT = "dev"


def contexts_path(home: Path | None = None) -> Path:
    return (home or Path.home()) / ".dockyard" / "contexts.json"


def parse_contexts(text: str) -> Contexts:
    """The file's text to `Contexts`; ValueError says what is wrong. Pure."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("contexts", {}), dict):
        raise ValueError('want {"current": NAME, "contexts": {NAME: {...}}}')
    entries = []
    for name, body in sorted(raw.get("contexts", {}).items()):
        if not isinstance(body, dict) or not isinstance(body.get("servers"), list):
            raise ValueError(f"context {name!r}: want servers (a list) and credentials")
        entries.append(Context(
            name=check_context_name(str(name)),
            servers=parse_servers(",".join(str(s) for s in body["servers"])),
            credentials=str(body.get("credentials", "")),
        ))
    current = str(raw.get("current") or "")
    return Contexts(current=current if any(c.name == current for c in entries) else "",
                    entries=tuple(entries))


def dump_contexts(contexts: Contexts) -> str:
    """The file's text for `contexts`. Pure."""
    body = {c.name: {"servers": list(c.servers), "credentials": c.credentials}
            for c in contexts.entries}
    return json.dumps({"current": contexts.current, "contexts": body},
                      indent=2, sort_keys=True) + "\n"


def with_context(contexts: Contexts, ctx: Context, *, replace_existing: bool = False,
                 use: bool = False) -> Contexts:
    """`contexts` with `ctx` added (or replacing one of its name); ValueError if the name
    is taken and `replace_existing` is false. Pure."""
    if contexts.get(ctx.name) is not None and not replace_existing:
        raise ValueError(f"context {ctx.name!r} exists; remove it first "
                         f"(dockyard context rm {ctx.name})")
    others = tuple(c for c in contexts.entries if c.name != ctx.name)
    entries = tuple(sorted((*others, ctx), key=lambda c: c.name))
    return Contexts(current=ctx.name if use else contexts.current, entries=entries)


def using(contexts: Contexts, name: str) -> Contexts:
    """`contexts` with `name` current; ValueError if there is no such context. Pure."""
    if contexts.get(name) is None:
        known = ", ".join(contexts.names) or "none"
        raise ValueError(f"no context named {name!r} (known: {known})")
    return replace(contexts, current=name)


def without(contexts: Contexts, name: str) -> Contexts:
    """`contexts` without `name` (no current one if it was); ValueError if absent. Pure."""
    if contexts.get(name) is None:
        raise ValueError(f"no context named {name!r}")
    return Contexts(current="" if contexts.current == name else contexts.current,
                    entries=tuple(c for c in contexts.entries if c.name != name))


def load(path: Path) -> Contexts:
    """The contexts in `path`; none when the file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Contexts()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_contexts(text)
    except ValueError as exc:
        raise CliError(f"{path}: {exc}; fix or remove it") from None


def save(path: Path, contexts: Contexts) -> None:
    """Write the whole file, mode 0600, through a temporary file in the same folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(dump_contexts(contexts))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def context_names(prefix: str = "", **_: Any) -> list[str]:
    """Shell completion of context names (argcomplete's completer signature)."""
    try:
        return [n for n in load(contexts_path()).names if n.startswith(prefix)]
    except CliError:
        return []


def add_context_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="keep a cluster's server addresses and credential")
    add.add_argument("name", help="a name for the cluster, e.g. prod")
    add.add_argument("--server", required=True, metavar="HOST:PORT[,HOST:PORT...]",
                     help="every control-plane replica; the CLI moves to the next when one "
                          "is down")
    add.add_argument("--credentials", required=True, metavar="FILE",
                     help="the cluster's admin credential (DATA_DIR/admin.pem)")
    add.add_argument("--use", action="store_true", help="make it the current context too")
    use = sub.add_parser("use", help="make a context the current one")
    use.add_argument("name").completer = context_names  # type: ignore[attr-defined]
    ls = sub.add_parser("ls", help="list contexts; * marks the current one")
    ls.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                    help="output format")
    rm = sub.add_parser("rm", help="forget a context (the files it names stay)")
    rm.add_argument("name").completer = context_names  # type: ignore[attr-defined]


def context_rows(contexts: Contexts) -> list[dict[str, Any]]:
    """Rows for `context ls`. Pure."""
    return [{"name": c.name, "current": c.name == contexts.current,
             "servers": list(c.servers), "credentials": c.credentials}
            for c in contexts.entries]


def run_context(args: Any) -> int:
    path = contexts_path()
    known = load(path)
    try:
        if args.action == "ls":
            from dockyard.cli.tables import print_rows

            print_rows("contexts", context_rows(known), args.output)
            return 0
        if args.action == "add":
            creds = Path(args.credentials).expanduser().resolve()
            from dockyard.client.control import load_credentials

            load_credentials(creds)  # a clear error now rather than at the first call
            ctx = Context(name=check_context_name(args.name),
                          servers=parse_servers(args.server), credentials=str(creds))
            save(path, with_context(known, ctx, use=args.use))
            note = " and made it current" if args.use else \
                f"; switch to it with: dockyard context use {ctx.name}"
            print(f"context {ctx.name} added{note}")
            return 0
        if args.action == "use":
            save(path, using(known, args.name))
            print(f"context {args.name} is current")
            return 0
        save(path, without(known, args.name))
        print(f"context {args.name} removed")
        return 0
    except ValueError as exc:
        raise CliError(str(exc)) from None


def keep_dev_context(servers: list[str], credentials: str) -> str:
    """Write (or replace) the `dev` context for a testbed that is up, and make it
    current; returns a line to show."""
    path = contexts_path()
    try:
        ctx = Context(DEV_CONTEXT, parse_servers(",".join(servers)), credentials)
        save(path, with_context(load(path), ctx, replace_existing=True, use=True))
    except (ValueError, OSError, CliError) as exc:
        print(f"warning: the dev context was not written: {exc}", file=sys.stderr)
        return ""
    return f"context {DEV_CONTEXT} is current: plain `dockyard get nodes` talks to this testbed"


def drop_dev_context() -> None:
    """Forget the `dev` context when the testbed goes down (nothing if there is none)."""
    path = contexts_path()
    try:
        known = load(path)
        if known.get(DEV_CONTEXT) is not None:
            save(path, without(known, DEV_CONTEXT))
    except (OSError, CliError) as exc:
        print(f"warning: the dev context was not removed: {exc}", file=sys.stderr)
