"""`dockyard`: parse the command line, run one subcommand, turn failures into one line.

A CLI call should be quick, and most of its time is Python importing modules, so this
module imports only the standard library it needs: gRPC, protobuf, YAML, the Compose
loader and the daemons come in with the subcommand that uses them (`python -X importtime
-m dockyard.cli --version` shows what is left; `make bench-cli` times it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

if sys.argv[1:2] not in (["server"], ["agent"]):
    # gRPC core's own log lines (a refused handshake...) would break the one-line error
    # rule of CLI commands; it reads this when grpc is imported, so set it first.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from dockyard import __version__
from dockyard.client.errors import CliError
from dockyard.controlplane.config import env_default

OUTPUTS = ("table", "json", "yaml")
# The names of common/spec/privileges.py's PRIVILEGES, written out so that every
# command does not import the Compose loader to print its help (a unit test keeps them equal).
PRIVILEGE_NAMES = ("privileged", "capabilities", "host-binds", "host-namespaces", "devices")

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


def _server_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", metavar="HOST:PORT[,...]",
                   help="control plane replicas (env DOCKYARD_SERVER)")
    p.add_argument("--credentials", metavar="FILE",
                   help="admin credential (env DOCKYARD_CREDENTIALS; "
                        "default ~/.dockyard/admin.pem)")
    from dockyard.cli.contexts import context_names

    p.add_argument("--context", help="a kept cluster (env DOCKYARD_CONTEXT; default: "
                   "the current one)").completer = context_names  # type: ignore[attr-defined]


def _output_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=OUTPUTS, default="table", help="output format")


def _compose_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", action="append", default=[], dest="files",
                   help="Compose file, '-' for stdin; repeat to merge files in order "
                        "(default: compose.yaml or docker-compose.yml here, plus "
                        "compose.override.yaml when present)")
    p.add_argument("--profile", action="append", default=[], dest="profiles",
                   help="enable services of this profile (repeatable; env COMPOSE_PROFILES)")


def build_parser(command: str | None = "") -> argparse.ArgumentParser:
    """The whole parser. `command` is the subcommand about to run, if known: the agent's
    flags (and the modules they import) are added only for it; "" adds everything."""
    parser = argparse.ArgumentParser(
        prog="dockyard", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dockyard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("server", help="run the control plane")
    p.add_argument("--listen", default=env_default("LISTEN", "0.0.0.0:7070"),
                   help="gRPC address for the CLI and agents (default 0.0.0.0:7070)")
    p.add_argument("--http-listen", default=env_default("HTTP_LISTEN", "127.0.0.1:7080"),
                   help="HTTP address for /healthz, /metrics and the web console (default "
                        "127.0.0.1:7080; give 0.0.0.0:7080 to reach it from elsewhere)")
    p.add_argument("--http-tls", action="store_true",
                   default=env_default("HTTP_TLS", "") not in ("", "0", "false"),
                   help="serve the HTTP port as HTTPS with the cluster CA's certificate; the "
                        "admin credential then logs in to the console as a client certificate")
    p.add_argument("--data-dir", default=env_default("DATA_DIR", "/var/lib/dockyard"),
                   help="where the embedded etcd and the join token live")
    p.add_argument("--etcd", default=env_default("ETCD", ""),
                   help="external etcd URL[,URL...]; without it an embedded etcd starts")
    p.add_argument("--etcd-port", type=int, default=int(env_default("ETCD_PORT", "2379")),
                   help="client port of the embedded etcd (peer port is the next one)")
    p.add_argument("--join-token", default=env_default("JOIN_TOKEN", ""),
                   help="join token agents must present (default: generated once, kept)")
    p.add_argument("--join-rate", default=env_default("JOIN_RATE", "2/20"),
                   help="joins allowed per source address: RATE per second[/BURST] "
                        "(default 2/20)")
    p.add_argument("--node-grace", type=float, default=float(env_default("NODE_GRACE", "4")),
                   help="seconds without heartbeat before a node with steady heartbeats is "
                        "down (default 4); jittery ones get up to --node-grace-max")
    p.add_argument("--node-grace-max", type=float,
                   default=float(env_default("NODE_GRACE_MAX", "0")),
                   help="the longest a silent node is given, however jittery its heartbeats "
                        "were (default 0: 2.5 times --node-grace)")
    p.add_argument("--leave-grace", type=float, default=float(env_default("LEAVE_GRACE", "30")),
                   help="seconds a node stays ready after its agent stopped on SIGTERM, "
                        "before its tasks move (default 30)")
    p.add_argument("--heartbeat", type=float, default=float(env_default("HEARTBEAT", "1")),
                   help="heartbeat period agents are told to use, in seconds (default 1)")
    p.add_argument("--leader-ttl", type=int, default=int(env_default("LEADER_TTL", "3")),
                   help="seconds a dead leader keeps leadership before another replica "
                        "takes over (default 3)")
    p.add_argument("--replica-name", default=env_default("REPLICA_NAME", ""),
                   help="this replica's name in leader election (default: --listen)")
    p.add_argument("--node-cert-ttl", type=float,
                   default=float(env_default("NODE_CERT_TTL", "86400")),
                   help="seconds a node certificate is valid; agents renew at 2/3 "
                        "(default 86400)")
    p.add_argument("--cluster-cidr", default=env_default("CLUSTER_CIDR", "10.214.0.0/16"),
                   help="container addresses of the whole cluster; each node gets a /24 "
                        "of it when it first joins (default 10.214.0.0/16)")
    p.add_argument("--registry", metavar="HOST:PORT", default=env_default("REGISTRY", ""),
                   help="the registry images built by apply are pushed to and agents pull "
                        "from (each engine must trust it, e.g. --insecure-registry)")
    p.add_argument("--admin-credentials", metavar="FILE",
                   default=env_default("ADMIN_CREDENTIALS", "~/.dockyard/admin.pem"),
                   help="where a new cluster's first start also copies DATA_DIR/admin.pem, "
                        "if no file is there yet; empty: nowhere (default "
                        "~/.dockyard/admin.pem)")
    for flag, what in (("cacert", "the CA that signed the external etcd's certificate"),
                       ("cert", "this server's client certificate for the external etcd"),
                       ("key", "the key of --etcd-cert")):
        p.add_argument(f"--etcd-{flag}", metavar="FILE",
                       default=env_default(f"ETCD_{flag.upper()}", ""),
                       help=f"{what} (all three together; see docs/security.md)")
    p.add_argument("--kek-file", metavar="FILE", default=env_default("KEK_FILE", ""),
                   help="the key that encrypts the cluster CA's key in etcd; every replica "
                        "needs the same one (default DATA_DIR/kek, made on the first start)")
    p.add_argument("--max-replicas-per-service", type=int, metavar="N",
                   default=int(env_default("MAX_REPLICAS_PER_SERVICE", "10000")),
                   help="most replicas one service may ask for (default 10000; see "
                        "docs/limits.md)")
    p.add_argument("--max-replicas-per-cluster", type=int, metavar="N",
                   default=int(env_default("MAX_REPLICAS_PER_CLUSTER", "100000")),
                   help="most replicas all services together may ask for (default 100000)")
    p.add_argument("--allow", action="append", default=[env_default("ALLOW", "")],
                   metavar="PRIVILEGE[,...]",
                   help="privileges every app may use: " + ", ".join(PRIVILEGE_NAMES)
                        + " (or all); by default none (docs/security.md)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")

    p = sub.add_parser("agent", help="run a node agent that drives this host's Docker Engine")
    if command in ("", "agent"):
        from dockyard.agent.cli import add_agent_arguments

        add_agent_arguments(p)

    p = sub.add_parser("config", help="print the normalized app from a Compose file")
    _compose_flags(p)

    p = sub.add_parser(
        "apply", help="store an app's desired state (all or nothing)",
        description="Store an app's desired state, all or nothing. Services with build: "
                    "are built first (by the Docker Engine here if one answers, else on a "
                    "cluster node), pushed to the cluster's registry and run by digest; an "
                    "unchanged build context is not built again.")
    _compose_flags(p)
    p.add_argument("--allow", action="append", default=[], metavar="PRIVILEGE[,...]",
                   help="privileges this app may use: " + ", ".join(PRIVILEGE_NAMES)
                        + " (or all); see docs/security.md")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be built and what would change per service; "
                        "build and store nothing")
    p.add_argument("--wait", action="store_true", help="follow progress until all healthy")
    p.add_argument("--timeout", type=float, default=300.0, help="--wait gives up after (s)")
    _server_flag(p)
    _output_flag(p)

    p = sub.add_parser("get", help="list nodes, apps, services or tasks")
    p.add_argument("kind", choices=("nodes", "apps", "services", "tasks", "volumes",
                                    "node", "app", "service", "task", "svc", "volume"))
    p.add_argument("--app", help="only this app")
    _server_flag(p)
    _output_flag(p)

    p = sub.add_parser("describe", help="placement, waiting-on and failure reasons, events")
    p.add_argument("what", choices=("app",))
    p.add_argument("name")
    _server_flag(p)
    _output_flag(p)

    p = sub.add_parser("delete", help="delete an app; it stops in reverse dependency order")
    p.add_argument("what", choices=("app",))
    p.add_argument("name")
    p.add_argument("--volumes", action="store_true",
                   help="also remove its named volumes from the nodes (kept by default)")
    _server_flag(p)

    p = sub.add_parser("scale", help="set a service's replicas: APP/SERVICE=N")
    p.add_argument("target", metavar="APP/SERVICE=N")
    _server_flag(p)

    p = sub.add_parser("logs", help="container output of a service's tasks, from every node")
    p.add_argument("target", metavar="APP/SERVICE[/SLOT]")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("--tail", type=int, default=-1, help="lines from the end (default: all)")
    _server_flag(p)

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
    _server_flag(p)

    p = sub.add_parser("node", help="drain or activate a node, or remove one that is down")
    p.add_argument("action", choices=("drain", "activate", "rm"))
    p.add_argument("name")
    p.add_argument("--force", action="store_true",
                   help="drain: stop also tasks holding a node-local volume there")
    _server_flag(p)

    p = sub.add_parser("volume", help="release a node-local volume from its node: "
                       "volume forget APP/VOLUME")
    from dockyard.cli.subcommands import add_volume_arguments

    add_volume_arguments(p)
    _server_flag(p)

    p = sub.add_parser("token", help="print the agents' join token, or rotate it")
    p.add_argument("role", choices=("agent",))
    p.add_argument("--rotate", action="store_true",
                   help="make a new token; the old one admits no new node")
    _server_flag(p)

    from dockyard.cli.subcommands import add_files_commands

    add_files_commands(sub, _server_flag)

    p = sub.add_parser("dev-cluster", help="a local multi-host testbed in network namespaces")
    from dockyard.cli.devcluster import add_devcluster_arguments

    add_devcluster_arguments(p)
    _add_habit_commands(sub)
    return parser


def _allow(values: list[str]) -> set[str]:
    from dockyard.common.spec.privileges import parse_allow

    try:
        return parse_allow(values)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _add_habit_commands(sub: Any) -> None:
    """`context`, `events` and `completion`: the commands of everyday CLI habits."""
    p = sub.add_parser("context", help="keep several clusters; pick the current one")
    from dockyard.cli.contexts import add_context_arguments

    add_context_arguments(p)

    p = sub.add_parser("events", help="cluster and app events as they happen")
    p.add_argument("-f", "--follow", action="store_true",
                   help="after the stored events, print new ones until Ctrl-C")
    p.add_argument("--app", help="only this app's events")
    _server_flag(p)
    p.add_argument("-o", "--output", choices=("table", "json"), default="table",
                   help="json: one object per line")

    from dockyard.cli.subcommands import add_versions_arguments

    add_versions_arguments(sub, _server_flag, _output_flag)

    p = sub.add_parser("console-token", help="a login token for the web console")
    from dockyard.cli.console import add_console_arguments

    add_console_arguments(p)
    _server_flag(p)

    p = sub.add_parser("completion", help="print the shell completion script")
    p.add_argument("shell", choices=("bash", "zsh", "fish"), nargs="?", default="bash")


def _path(flag: str) -> Path | None:
    from pathlib import Path

    return Path(flag).expanduser() if flag else None


def _run_server(args: Any) -> int:
    import asyncio
    import logging
    from pathlib import Path

    from dockyard.controlplane.config import ServerConfig
    from dockyard.controlplane.server import ServerError, run_server

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from dockyard.controlplane.security.ratelimit import parse_rate

    try:
        from dockyard.controlplane.config import server_limits

        limits = server_limits(per_service=args.max_replicas_per_service,
                               per_cluster=args.max_replicas_per_cluster)
        join_rate = parse_rate(args.join_rate)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    config = ServerConfig(
        listen=args.listen,
        http_listen=args.http_listen,
        http_tls=args.http_tls,
        data_dir=Path(args.data_dir),
        etcd=tuple(u for u in args.etcd.split(",") if u),
        etcd_client_port=args.etcd_port,
        join_token=args.join_token,
        join_rate=join_rate,
        node_grace_s=args.node_grace,
        node_grace_max_s=args.node_grace_max,
        leave_grace_s=args.leave_grace,
        heartbeat_s=args.heartbeat,
        leader_ttl_s=args.leader_ttl,
        replica=args.replica_name,
        node_cert_s=args.node_cert_ttl,
        cluster_cidr=args.cluster_cidr,
        registry=args.registry,
        admin_credentials=(Path(args.admin_credentials).expanduser()
                           if args.admin_credentials else None),
        allow=frozenset(_allow(args.allow)),
        etcd_cacert=_path(args.etcd_cacert),
        etcd_cert=_path(args.etcd_cert),
        etcd_key=_path(args.etcd_key),
        kek_file=_path(args.kek_file),
        limits=limits,
    )
    try:
        asyncio.run(run_server(config))
    except ServerError as exc:
        raise CliError(str(exc)) from None
    return 0


def _resolve_target(args: Any) -> None:
    """Set args.server ("A,B,C") and args.credentials from flags, env and contexts."""
    from pathlib import Path

    from dockyard.cli import contexts
    from dockyard.controlplane.config import resolve_client

    try:
        target = resolve_client(
            server=args.server, credentials=args.credentials,
            context=getattr(args, "context", None), env=os.environ, home=Path.home(),
            load_contexts=lambda: contexts.load(contexts.contexts_path()))
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
        _resolve_target(args)
        from dockyard.cli.console import cmd_console_token

        return cmd_console_token(args)
    if args.command == "events":
        _resolve_target(args)
        from dockyard.cli.watch import cmd_events

        return cmd_events(args)
    if args.command in ("history", "rollback"):
        _resolve_target(args)
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
        return _run_server(args)
    if args.command == "agent":
        from dockyard.agent.cli import run_agent

        return run_agent(args)
    if args.command == "dev-cluster":
        from dockyard.cli.devcluster import run_devcluster

        return run_devcluster(args)
    if hasattr(args, "server"):
        _resolve_target(args)
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


def _command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, if any (the first word that is not an
    option). Pure."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    words = list(sys.argv[1:] if argv is None else argv)
    completing = "_ARGCOMPLETE" in os.environ
    parser = build_parser("" if completing else _command_word(words))
    if completing:
        from dockyard.cli.completion import complete

        complete(parser)  # answers the shell and exits
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return dispatch(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("DOCKYARD_DEBUG"):
            raise
        print(f"error: internal: {type(exc).__name__}: {exc} (DOCKYARD_DEBUG=1 shows more)",
              file=sys.stderr)
        return 1
