"""`dockyard`: parse the command line, run one subcommand, turn failures into one line.

A CLI call should be quick, and most of its time is Python importing modules, so this
module imports only the standard library it needs: gRPC, protobuf, YAML, the Compose
loader and the daemons come in with the subcommand that uses them (`python -X importtime
-m dockyard.cli --version` shows what is left; `make bench-cli` times it).
The parser is parser.py (flags.py and server.py hold the shared and the server's
flags); which function runs a command is dispatch.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

if sys.argv[1:2] not in (["server"], ["agent"]):
    # gRPC core's own log lines (a refused handshake...) would break the one-line error
    # rule of CLI commands; it reads this when grpc is imported, so set it first.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from dockyard.cli.dispatch import dispatch
from dockyard.cli.parser import build_parser
from dockyard.client.errors import CliError

__all__ = ["build_parser", "main"]


def _command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line: its first word, unless that is an
    option (`--help`, `--version`: the parser is built whole then). Pure."""
    return argv[0] if argv and not argv[0].startswith("-") else None


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


def run() -> NoReturn:
    """The `dockyard` program: `main()`, then exit at once with its code, output flushed.

    Why not return to Python's own exit: after a stream (`events -f`, `logs -f`, `exec`),
    a ctrl-c, or the daemons' stop, that exit ran a last garbage collection through
    gRPC's native objects and gRPC's shutdown, which waits for the sockets of streams
    still open; on a loaded machine that took seconds after the command had finished.
    Nothing is left to clean up then: every file the commands write is closed by them."""
    try:
        code: int | str | None = main()
    except SystemExit as exc:  # argparse's errors and --help, completion
        code = exc.code
    except KeyboardInterrupt:  # a ctrl-c between main's own handlers and here
        print("interrupted", file=sys.stderr)
        code = 130
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    os._exit(code or 0)
