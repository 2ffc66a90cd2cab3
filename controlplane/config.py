"""Configuration has one home: defaults, environment and flags are resolved here.

Every setting has a default, may be overridden by a `DOCKYARD_*` environment variable,
and then by a command-line flag. Nothing else in the control plane reads the
environment.

The CLI's target (which servers, which admin credential) has one more layer, the
context (several clusters kept in ~/.dockyard/contexts.json, see cli/
contexts.py), and one resolution order, in `resolve_client`: the --server/--credentials
flags, then a context named with --context, then DOCKYARD_SERVER/DOCKYARD_CREDENTIALS,
then the context named by DOCKYARD_CONTEXT or the current one, then the defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from dockyard.common.spec.rules import DEFAULT_LIMITS, REPLICAS_CEILING, Limits

DEFAULT_SERVER = "127.0.0.1:7070"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How `dockyard server` runs."""

    listen: str = "0.0.0.0:7070"
    # Loopback by default: the console is there (docs/security.md, "The web console").
    http_listen: str = "127.0.0.1:7080"
    # Serve the HTTP port as HTTPS, so the admin credential logs in as a client certificate.
    http_tls: bool = False
    data_dir: Path = Path("/var/lib/dockyard")
    etcd: tuple[str, ...] = ()
    etcd_client_port: int = 2379
    heartbeat_s: float = 1.0
    node_grace_s: float = 4.0
    # The longest a jittery node is given (0: 2.5 x node_grace_s); controlplane/detector.py.
    node_grace_max_s: float = 0.0
    # How long a node whose agent left on SIGTERM stays ready (controlplane/liveness.py).
    leave_grace_s: float = 30.0
    join_token: str = ""
    reconcile_debounce_s: float = 0.02
    leader_ttl_s: int = 3
    replica: str = ""
    # Lifetime of node certificates; agents renew at 2/3 of it.
    node_cert_s: float = 86400.0
    # Joins (Register with a join certificate) per second per source address, and burst.
    join_rate: tuple[float, float] = (2.0, 20.0)
    # Where the first start also copies the admin credential (None: only DATA_DIR/admin.pem).
    admin_credentials: Path | None = None
    # Privileges every app may use (`--allow`, see common/spec/privileges.py).
    allow: frozenset[str] = frozenset()
    # Client TLS to an external etcd: CA, certificate, key (all three, or none).
    etcd_cacert: Path | None = None
    etcd_cert: Path | None = None
    etcd_key: Path | None = None
    # The key that encrypts the cluster CA's key in etcd (None: DATA_DIR/kek).
    kek_file: Path | None = None

    @property
    def kek_path(self) -> Path:
        return self.kek_file or self.data_dir / "kek"
    # What requests may ask for (--max-replicas-per-service, ...); docs/limits.md.
    limits: Limits = DEFAULT_LIMITS
    # Every node's container subnet is a /24 of it (controlplane/network/subnets.py).
    cluster_cidr: str = "10.214.0.0/16"
    # HOST:PORT of the registry built images are pushed to and agents pull from.
    registry: str = ""

    @property
    def embedded_etcd(self) -> bool:
        return not self.etcd


def env_default(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """The value of DOCKYARD_<NAME> if set, else `default`."""
    source = os.environ if env is None else env
    return source.get(f"DOCKYARD_{name}", default)


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


def server_limits(*, per_service: int, per_cluster: int) -> Limits:
    """The server's limits from its flags; ValueError (one line) when they make no sense."""
    if not 1 <= per_service <= REPLICAS_CEILING:
        raise ValueError(f"--max-replicas-per-service must be 1-{REPLICAS_CEILING:,}, "
                         f"got {per_service}")
    if not per_service <= per_cluster <= 100 * REPLICAS_CEILING:
        raise ValueError(f"--max-replicas-per-cluster must be at least "
                         f"--max-replicas-per-service ({per_service}), got {per_cluster}")
    return replace(DEFAULT_LIMITS, replicas_per_service=per_service,
                   replicas_per_cluster=per_cluster)
