"""`dockyard console-token`: a login token for the web console, and where to use it.

The token is made by the server (it holds the key, see controlplane/console/auth.py), so
any replica accepts it; this command prints it with the console's address and its
expiry. `--quiet` prints the token alone, for scripts.
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def add_console_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ttl", default="12h",
                   help="how long the token logs in: 90s, 30m, 12h, 7d (default 12h, "
                        "at most 7d)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the token")


def parse_ttl(text: str) -> int:
    """'90s', '30m', '12h', '7d' or a number of seconds, to seconds. Pure; ValueError."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    scale = units.get(t[-1:], 0)
    number = t[:-1] if scale else t
    if not number.isdigit():
        raise ValueError(f"bad --ttl {text!r}: want a number with s, m, h or d, e.g. 12h")
    return int(number) * (scale or 1)


def console_url(http_listen: str, https: bool, server: str) -> str:
    """The console's address as a browser reaches it: the replica's HTTP address, with a
    wildcard host replaced by the host the CLI dialed. Pure."""
    host, _, port = http_listen.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = server.split(",")[0].rpartition(":")[0] or "127.0.0.1"
    return f"{'https' if https else 'http'}://{host}:{port}"


def cmd_console_token(args: Any) -> int:
    from dockyard.client.control import CliError, call, control_stub
    from dockyard.v1 import control_pb2

    try:
        ttl_s = parse_ttl(args.ttl)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    stub = control_stub(args.server, args.credentials)
    r = call(args.server, stub.ConsoleToken, control_pb2.ConsoleTokenRequest(ttl_s=ttl_s))
    if args.quiet:
        print(r.token)
        return 0
    url = console_url(r.http_listen, r.https, args.server)
    until = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(r.expires_s))
    print(f"console: {url}/\n"
          f"token:   {r.token}\n"
          f"expires: {until}\n"
          f"log in:  open {url}/login?token={r.token}\n"
          f"         (or paste the token at {url}/login)")
    return 0
