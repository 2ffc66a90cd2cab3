"""`dockyard server`: its flags, and how they become a ServerConfig and a running
control plane.

The server's flags are a third of the whole parser, and building a ServerConfig is its
own small job (limits, rates and paths checked into one-line errors), so they live here
rather than among the client commands. The flags are plain argparse (the parser is
built for every command); the control plane is imported only when the server runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from dockyard.cli.flags import PRIVILEGE_NAMES
from dockyard.client.errors import CliError
from dockyard.controlplane.config import env_default

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def add_server_arguments(p: argparse.ArgumentParser) -> None:
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


def _allow(values: list[str]) -> set[str]:
    from dockyard.common.spec.privileges import parse_allow

    try:
        return parse_allow(values)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _path(flag: str) -> Path | None:
    from pathlib import Path

    return Path(flag).expanduser() if flag else None


def run_server(args: Any) -> int:
    import asyncio
    import logging
    from pathlib import Path

    from dockyard.common import gcpace
    from dockyard.controlplane.config import ServerConfig
    from dockyard.controlplane.server import ServerError
    from dockyard.controlplane.server import run_server as serve

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
    from dockyard.common.bounded import Watchdog
    from dockyard.controlplane import stopping

    def arm_watchdog(kill_etcd: Callable[[], None]) -> None:
        """The stop's hard limit, outside the event loop: if the process is still here
        after every step's bound and the margin, the embedded etcd is killed and the
        process exits (common/bounded.py). Armed here, at the program's edge: only the
        program may end the process. It stays armed until the process has exited."""
        log = logging.getLogger("dockyard.server")
        Watchdog(stopping.total_bound_s() + stopping.WATCHDOG_MARGIN_S, log,
                 kill_etcd).arm()

    gcpace.settle()
    try:
        asyncio.run(serve(config, on_stopping=arm_watchdog))
    except ServerError as exc:
        raise CliError(str(exc)) from None
    return 0  # the program exits at once from here (cli/main.py `run`)
