"""The arguments of the volume, secret/config and history/rollback commands.

Only argparse here: the parser of every command is built for `dockyard --help` and
`--version` too, so the modules that run these commands (volumes.py, files.py,
versions.py, which bring gRPC and protobuf) are imported only when one of them runs.
"""

from __future__ import annotations

from typing import Any

COMMANDS = {"secret": "secret", "configs": "config"}  # command word -> kind


def add_volume_arguments(p: Any) -> None:
    p.add_argument("action", choices=("forget",))
    p.add_argument("target", metavar="APP/VOLUME")


def add_files_commands(sub: Any, server_flag: Any) -> None:
    for word, kind in COMMANDS.items():
        how = ("kept plain; not `dockyard config`, which prints an app's file"
               if kind == "config" else "encrypted in etcd, mounted from tmpfs")
        p = sub.add_parser(word, help=f"create, list or remove {kind}s ({how})",
                           description=f"{kind.capitalize()}s the cluster keeps, for Compose "
                           f"`external: true`: {how}. Content is never shown.")
        verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
        v = verbs.add_parser("create", help=f"store a {kind}, or a new version of it (the "
                             "services using it then roll)")
        v.add_argument("name")
        v.add_argument("-f", "--file", required=True, help="file with the content, '-' for stdin")
        _output(v)
        server_flag(v)
        v = verbs.add_parser("ls", help=f"{kind}s: names, versions, digests, users")
        _output(v)
        server_flag(v)
        v = verbs.add_parser("rm", help=f"remove a {kind} no service uses")
        v.add_argument("name")
        _output(v)
        server_flag(v)


def _output(p: Any) -> None:
    p.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                   help="output format")


def add_versions_arguments(sub: Any, server_flag: Any, output_flag: Any) -> None:
    p = sub.add_parser("history", help="an app's kept versions: when, and what changed")
    p.add_argument("app")
    server_flag(p)
    output_flag(p)

    p = sub.add_parser("rollback", help="apply an earlier kept version of an app again")
    p.add_argument("app")
    p.add_argument("--to", type=int, default=0, metavar="N",
                   help="the version to go back to (default: the one before the latest)")
    p.add_argument("--wait", action="store_true",
                   help="follow the rollback until every task runs it, healthy")
    p.add_argument("--timeout", type=float, default=300.0, help="--wait gives up after (s)")
    server_flag(p)
