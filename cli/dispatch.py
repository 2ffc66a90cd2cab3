"""Run the command the parser chose: pick its function, and import its module then.

Each command's module (and gRPC, protobuf, YAML, the Compose loader with it) is
imported only here, once it is known which command runs, so `dockyard --help` and a
typo stay quick. The server address and credential are resolved here too, once, for
every command that talks to a server. A new command adds its line here, from its module.
"""

from __future__ import annotations

import os
from typing import Any

from dockyard.client.errors import CliError


def resolve_target(args: Any) -> None:
    """Set args.server ("A,B,C") and args.credentials from flags, env and contexts."""
    from pathlib import Path

    from dockyard.client.target import Contexts, resolve_client

    def load_contexts() -> Contexts:  # only when no flag or variable names the target
        from dockyard.cli import contexts

        return contexts.load(contexts.contexts_path())

    try:
        target = resolve_client(
            server=args.server, credentials=args.credentials,
            context=getattr(args, "context", None), env=os.environ, home=Path.home(),
            load_contexts=load_contexts)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    args.server = target.server
    args.credentials = target.credentials


def _dispatch_habits(args: Any) -> int | None:
    """The `context`, `events` and `completion` commands; None for any other."""
    if args.command == "context":
        from dockyard.cli.contexts import run_context

        return run_context(args)
    if args.command == "completion":
        from dockyard.cli.completion import print_completion

        return print_completion(args.shell)
    if args.command == "console-token":
        resolve_target(args)
        from dockyard.cli.console import cmd_console_token

        return cmd_console_token(args)
    if args.command == "events":
        resolve_target(args)
        from dockyard.cli.watch import cmd_events

        return cmd_events(args)
    if args.command in ("history", "rollback"):
        resolve_target(args)
        from dockyard.cli import versions

        return versions.cmd_history(args) if args.command == "history" else (
            versions.cmd_rollback(args))
    return None


def dispatch(args: Any) -> int:
    habit = _dispatch_habits(args)
    if habit is not None:
        return habit
    from dockyard.cli import commands

    if args.command == "server":
        from dockyard.cli.server import run_server

        return run_server(args)
    if args.command == "agent":
        from dockyard.agent.cli import run_agent

        return run_agent(args)
    if args.command == "dev-cluster":
        from dockyard.cli.devcluster import run_devcluster

        return run_devcluster(args)
    if hasattr(args, "server"):
        resolve_target(args)
    if args.command in ("secret", "configs"):
        from dockyard.cli.files import cmd_files

        return cmd_files(args)
    if args.command == "volume":
        from dockyard.cli.volumes import cmd_volume

        return cmd_volume(args)
    handlers = {
        "config": commands.cmd_config,
        "apply": commands.cmd_apply,
        "get": commands.cmd_get,
        "describe": commands.cmd_describe,
        "delete": commands.cmd_delete,
        "scale": commands.cmd_scale,
        "node": commands.cmd_node,
        "logs": commands.cmd_logs,
        "exec": _exec,
        "token": commands.cmd_token,
    }
    return handlers[args.command](args)


def _exec(args: Any) -> int:
    from dockyard.cli.exec import cmd_exec

    return cmd_exec(args)
