"""The flags many commands share (--server, -o, -f/--profile) and the privilege names.

Only argparse here: the parser of every command is built for `dockyard --help` too, so
this module must stay as light to import as the parser itself (see parser.py).
"""

from __future__ import annotations

import argparse
from typing import Any

OUTPUTS = ("table", "json", "yaml")
# The names of common/spec/privileges.py's PRIVILEGES, written out so that every
# command does not import the Compose loader to print its help (a unit test keeps them equal).
PRIVILEGE_NAMES = ("privileged", "capabilities", "host-binds", "host-namespaces", "devices")


def server_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", metavar="HOST:PORT[,...]",
                   help="control plane replicas (env DOCKYARD_SERVER)")
    p.add_argument("--credentials", metavar="FILE",
                   help="admin credential (env DOCKYARD_CREDENTIALS; "
                        "default ~/.dockyard/admin.pem)")
    p.add_argument("--context", help="a kept cluster (env DOCKYARD_CONTEXT; default: "
                   "the current one)").completer = _context_names  # type: ignore[attr-defined]


def _context_names(prefix: str = "", **kw: Any) -> list[str]:
    """Shell completion of context names; the contexts module is imported only then."""
    from dockyard.cli.contexts import context_names

    return context_names(prefix, **kw)


def output_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=OUTPUTS, default="table", help="output format")


def compose_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", action="append", default=[], dest="files",
                   help="Compose file, '-' for stdin; repeat to merge files in order "
                        "(default: compose.yaml or docker-compose.yml here, plus "
                        "compose.override.yaml when present)")
    p.add_argument("--profile", action="append", default=[], dest="profiles",
                   help="enable services of this profile (repeatable; env COMPOSE_PROFILES)")
