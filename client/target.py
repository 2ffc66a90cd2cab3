"""Where the CLI talks to: the servers and the admin credential of a call, resolved once.

The CLI's target has one layer more than the server's settings, the context (several
clusters kept in ~/.dockyard/contexts.json, see cli/contexts.py), and one resolution
order, in `resolve_client`: the --server/--credentials flags, then a context named with
--context, then DOCKYARD_SERVER/DOCKYARD_CREDENTIALS, then the context named by
DOCKYARD_CONTEXT or the current one, then the defaults. It lives with the client, apart
from the server's configuration (controlplane/config.py), because every CLI call that
talks to a server runs it: importing the server's settings cost each call about 5 ms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SERVER = "127.0.0.1:7070"
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_CONTEXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Context:
    """One cluster the CLI knows: its control-plane replicas and the admin credential."""

    name: str
    servers: tuple[str, ...]
    credentials: str


@dataclass(frozen=True, slots=True)
class Contexts:
    """Every context, and the name of the current one ("" when none is)."""

    current: str = ""
    entries: tuple[Context, ...] = ()

    def get(self, name: str) -> Context | None:
        return next((c for c in self.entries if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.entries)


@dataclass(frozen=True, slots=True)
class ClientTarget:
    """Where a CLI call goes: every server address to try, in order, and the credential.
    `context` names the context that supplied a value ("" when none did)."""

    servers: tuple[str, ...]
    credentials: Path
    context: str = ""

    @property
    def server(self) -> str:
        """The addresses as one "A,B,C" string, the form the client and messages take."""
        return ",".join(self.servers)


def parse_servers(text: str) -> tuple[str, ...]:
    """ "A:7070,B:7070" to ("A:7070", "B:7070"); ValueError names a bad one. Pure."""
    servers = tuple(a.strip() for a in text.split(",") if a.strip())
    if not servers:
        raise ValueError("no server address: want HOST:PORT[,HOST:PORT...]")
    for a in servers:
        m = _ADDRESS.match(a)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"bad server address {a!r}: want HOST:PORT, e.g. 10.0.0.5:7070")
    return servers


def check_context_name(name: str) -> str:
    """The name if usable as a context name, else ValueError. Pure."""
    if not _CONTEXT_NAME.match(name):
        raise ValueError(f"bad context name {name!r}: letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit")
    return name


def resolve_client(
    *,
    server: str | None,
    credentials: str | None,
    context: str | None,
    env: Mapping[str, str],
    home: Path,
    load_contexts: Callable[[], Contexts],
) -> ClientTarget:
    """Where the CLI talks to, field by field: the --server/--credentials flags, then the
    context named by --context, then DOCKYARD_SERVER/DOCKYARD_CREDENTIALS, then the
    context named by DOCKYARD_CONTEXT or else the current one, then 127.0.0.1:7070 and
    HOME/.dockyard/admin.pem. `load_contexts` is called only when a context is needed.
    Pure, given a pure `load_contexts`; ValueError says what is wrong in one line."""
    env_server = env.get("DOCKYARD_SERVER", "")
    env_creds = env.get("DOCKYARD_CREDENTIALS", "")
    chosen: Context | None = None
    flag_context = bool(context)
    if context or not (server or env_server) or not (credentials or env_creds):
        known = load_contexts()
        name = context or env.get("DOCKYARD_CONTEXT", "") or known.current
        if name:
            chosen = known.get(name)
            if chosen is None:
                hint = ", ".join(known.names) or "none; add one with dockyard context add"
                raise ValueError(f"no context named {name!r} (known: {hint})")

    def pick(flag: str | None, from_env: str, from_context: str | None) -> tuple[str, str]:
        """(value, source) for one field; source "context" or ""."""
        if flag:
            return flag, ""
        if flag_context and from_context:
            return from_context, "context"
        if from_env:
            return from_env, ""
        if from_context:
            return from_context, "context"
        return "", ""

    srv, srv_src = pick(server, env_server,
                        ",".join(chosen.servers) if chosen is not None else None)
    cred, cred_src = pick(credentials, env_creds,
                          chosen.credentials if chosen is not None else None)
    used = chosen.name if chosen is not None and "context" in (srv_src, cred_src) else ""
    return ClientTarget(
        servers=parse_servers(srv or DEFAULT_SERVER),
        credentials=_expand(cred, home) if cred else home / ".dockyard" / "admin.pem",
        context=used,
    )


def _expand(path: str, home: Path) -> Path:
    """`~/x` against `home`, so the resolution stays pure; other paths as given."""
    if path == "~" or path.startswith("~/"):
        return home / path[2:]
    return Path(path)
