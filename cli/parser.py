"""The `dockyard` argument parser: every command's words and flags, and nothing else.

It is built on every call, for `--help` and `--version` too, so it imports only
argparse and the flag modules (flags.py, server.py's flags, subcommands.py...): the
modules that run a command come in with dispatch.py, once it is known which one runs
(tests/unit/test_cli_imports.py keeps gRPC, numpy, networkx and YAML out).
A new command adds its flags here in a line or two, from its own module.
"""

from __future__ import annotations

import argparse
from typing import Any

from dockyard import __version__
from dockyard.cli.flags import PRIVILEGE_NAMES, compose_flags, output_flag, server_flag

DESCRIPTION = """\
Dockyard runs multi-container apps from Compose files across a pool of Docker hosts:
it keeps the desired state in etcd, packs containers onto hosts, starts them in
dependency order gated on health, and moves them when a host dies.
"""

EPILOG = """\
examples:
  dockyard server                         control plane with an embedded etcd
  dockyard agent --join HOST:7070 --token-file FILE
  dockyard apply -f compose.yaml --wait   store the app, follow it until healthy
  dockyard get tasks -o json
  dockyard describe app amp               placement, what waits on what, events
  dockyard scale amp/web=4
  dockyard rollback amp --to 3 --wait     back to version 3 (dockyard history amp)
  dockyard events -f                      cluster and app events as they happen
  dockyard context add prod --server A:7070,B:7070 --credentials prod.pem
  dockyard dev-cluster up --nodes 3       a local multi-host testbed (root)
  dockyard dev-cluster up --hollow 100    a server and 100 hollow agents (no root)

The server addresses come from --server, else --context's, else DOCKYARD_SERVER, else
the current context's (dockyard context use), else 127.0.0.1:7070. The admin credential
comes from --credentials, else --context's, else DOCKYARD_CREDENTIALS, else the current
context's, else ~/.dockyard/admin.pem (the server writes DATA_DIR/admin.pem on its first
start, and a copy to ~/.dockyard/admin.pem when there is none). With several addresses
(A,B,C) a call moves to the next one when a server is down.
"""


def build_parser(command: str | None = "") -> argparse.ArgumentParser:
    """The parser. `command` is the subcommand about to run, if known: only its own
    parser is built then (each flag costs argparse a help formatter, and some commands'
    flags import modules); the others are left out. "" or None builds every command's
    (for --help, --version, completion), and so does a word that names no command, so
    that argparse can say which ones there are. The agent's flags are added only for
    "" and "agent"."""
    parser = argparse.ArgumentParser(
        prog="dockyard", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dockyard {__version__}")
    everything = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub: Any = _OnlyOne(everything, command) if command else everything

    p = sub.add_parser("server", help="run the control plane")
    if command in ("", None, "server"):
        from dockyard.cli.server import add_server_arguments

        add_server_arguments(p)
    p = sub.add_parser("agent", help="run a node agent that drives this host's Docker Engine")
    if command in ("", "agent"):
        from dockyard.agent.cli import add_agent_arguments

        add_agent_arguments(p)

    _add_app_commands(sub)
    _add_operator_commands(sub)

    p = sub.add_parser("dev-cluster", help="a local multi-host testbed in network namespaces")
    if command in ("", None, "dev-cluster"):
        from dockyard.cli.devcluster import add_devcluster_arguments

        add_devcluster_arguments(p)
    _add_habit_commands(sub)
    if isinstance(sub, _OnlyOne) and not sub.found:
        return build_parser(None)
    return parser


class _OnlyOne:
    """The subcommands of a call whose command is known: `add_parser` builds that one
    command's parser, and gives any other a stand-in that takes its flags and keeps
    nothing."""

    def __init__(self, sub: Any, command: str) -> None:
        self._sub = sub
        self._command = command
        self.found = False

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name != self._command:
            return _Nothing()
        self.found = True
        return self._sub.add_parser(name, **kwargs)


class _Nothing:
    """Takes any call (add_argument, add_subparsers, set_defaults...) and keeps nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def _add_app_commands(sub: Any) -> None:
    """The commands of an app's life: config, apply, get, describe, delete, scale, logs,
    exec."""
    p = sub.add_parser("config", help="print the normalized app from a Compose file")
    compose_flags(p)

    p = sub.add_parser(
        "apply", help="store an app's desired state (all or nothing)",
        description="Store an app's desired state, all or nothing. Services with build: "
                    "are built first (by the Docker Engine here if one answers, else on the "
                    "least busy ready cluster node of the service's platform), pushed to the "
                    "cluster's registry and run by digest; an unchanged build context is "
                    "not built again.")
    compose_flags(p)
    p.add_argument("--allow", action="append", default=[], metavar="PRIVILEGE[,...]",
                   help="privileges this app may use: " + ", ".join(PRIVILEGE_NAMES)
                        + " (or all); see docs/security.md")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be built, what would change per service and on "
                        "which node each new task would run (or why it would wait); build "
                        "and store nothing")
    p.add_argument("--wait", action="store_true", help="follow progress until all healthy")
    p.add_argument("--timeout", type=float, default=300.0, help="--wait gives up after (s)")
    server_flag(p)
    output_flag(p)

    p = sub.add_parser("get", help="list nodes, apps, services or tasks")
    p.add_argument("kind", choices=("nodes", "apps", "services", "tasks", "volumes",
                                    "node", "app", "service", "task", "svc", "volume"))
    p.add_argument("--app", help="only this app")
    server_flag(p)
    output_flag(p)

    p = sub.add_parser("describe", help="placement, waiting-on and failure reasons, events")
    p.add_argument("what", choices=("app",))
    p.add_argument("name")
    server_flag(p)
    output_flag(p)

    p = sub.add_parser("delete", help="delete an app; it stops in reverse dependency order")
    p.add_argument("what", choices=("app",))
    p.add_argument("name")
    p.add_argument("--volumes", action="store_true",
                   help="also remove its named volumes from the nodes (kept by default)")
    server_flag(p)

    p = sub.add_parser("scale", help="set a service's replicas: APP/SERVICE=N")
    p.add_argument("target", metavar="APP/SERVICE=N")
    server_flag(p)

    p = sub.add_parser("logs", help="container output of a service's tasks, from every node")
    p.add_argument("target", metavar="APP/SERVICE[/SLOT]")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("--tail", type=int, default=-1, help="lines from the end (default: all)")
    server_flag(p)

    p = sub.add_parser(
        "exec", help="run a command in a service's container, on whichever node holds it",
        description="Run a command in a running task's container. The exit code is the "
        "command's; 125 means it could not be run.",
        epilog="examples:\n  dockyard exec amp/db -- mariadb -e 'select 1'\n"
        "  dockyard exec -it amp/web/2 -- sh",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="APP/SERVICE[/SLOT]",
                   help="the task: a slot, or the lowest running one")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")
    p.add_argument("-i", "--interactive", action="store_true", help="send stdin to the command")
    p.add_argument("-t", "--tty", action="store_true", help="give the command a terminal")
    p.add_argument("-e", "--env", action="append", metavar="KEY=VALUE", help="extra environment")
    p.add_argument("-u", "--user", help="run as this user (name or uid[:gid])")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    server_flag(p)


def _add_operator_commands(sub: Any) -> None:
    """The commands of the cluster's upkeep: node, volume, token, secret and configs."""
    p = sub.add_parser("node", help="drain or activate a node, or remove one that is down")
    p.add_argument("action", choices=("drain", "activate", "rm"))
    p.add_argument("name")
    p.add_argument("--force", action="store_true",
                   help="drain: stop also tasks holding a node-local volume there")
    server_flag(p)

    p = sub.add_parser("volume", help="release a node-local volume from its node: "
                       "volume forget APP/VOLUME")
    from dockyard.cli.subcommands import add_files_commands, add_volume_arguments

    add_volume_arguments(p)
    server_flag(p)

    p = sub.add_parser("token", help="print the agents' join token, or rotate it")
    p.add_argument("role", choices=("agent",))
    p.add_argument("--rotate", action="store_true",
                   help="make a new token; the old one admits no new node")
    server_flag(p)

    add_files_commands(sub, server_flag)


def _add_habit_commands(sub: Any) -> None:
    """`context`, `events` and `completion`: the commands of everyday CLI habits."""
    p = sub.add_parser("context", help="keep several clusters; pick the current one")
    if not isinstance(p, _Nothing):  # another command's call: not worth the import
        from dockyard.cli.contexts import add_context_arguments

        add_context_arguments(p)

    p = sub.add_parser("events", help="cluster and app events as they happen")
    p.add_argument("-f", "--follow", action="store_true",
                   help="after the stored events, print new ones until Ctrl-C")
    p.add_argument("--app", help="only this app's events")
    server_flag(p)
    p.add_argument("-o", "--output", choices=("table", "json"), default="table",
                   help="json: one object per line")

    from dockyard.cli.subcommands import add_versions_arguments

    add_versions_arguments(sub, server_flag, output_flag)

    p = sub.add_parser("console-token", help="a login token for the web console")
    from dockyard.cli.console import add_console_arguments

    add_console_arguments(p)
    server_flag(p)

    p = sub.add_parser("completion", help="print the shell completion script")
    p.add_argument("shell", choices=("bash", "zsh", "fish"), nargs="?", default="bash")
