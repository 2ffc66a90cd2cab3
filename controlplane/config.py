"""Configuration has one home: defaults, environment and flags are resolved here.

Every setting has a default, may be overridden by a `DOCKYARD_*` environment variable,
and then by a command-line flag. Nothing else in the control plane reads the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SERVER = "127.0.0.1:7070"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How `dockyard server` runs."""

    listen: str = "0.0.0.0:7070"
    http_listen: str = "0.0.0.0:7080"
    data_dir: Path = Path("/var/lib/dockyard")
    etcd: tuple[str, ...] = ()
    etcd_client_port: int = 2379
    heartbeat_s: float = 1.0
    node_grace_s: float = 4.0
    join_token: str = ""
    reconcile_debounce_s: float = 0.02
    leader_ttl_s: int = 3
    replica: str = ""
    # Lifetime of node certificates; agents renew at 2/3 of it.
    node_cert_s: float = 86400.0
    # Where the first start also copies the admin credential (None: only DATA_DIR/admin.pem).
    admin_credentials: Path | None = None
    # Privileges every app may use (`--allow`, see controlplane/spec/privileges.py).
    allow: frozenset[str] = frozenset()

    @property
    def embedded_etcd(self) -> bool:
        return not self.etcd


def env_default(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """The value of DOCKYARD_<NAME> if set, else `default`."""
    source = os.environ if env is None else env
    return source.get(f"DOCKYARD_{name}", default)


def server_address(flag: str | None, env: Mapping[str, str] | None = None) -> str:
    """The control-plane address the CLI talks to: --server, then DOCKYARD_SERVER."""
    return flag or env_default("SERVER", DEFAULT_SERVER, env)


def credentials_path(flag: str | None, env: Mapping[str, str] | None = None) -> Path:
    """The CLI's admin credential: --credentials, then DOCKYARD_CREDENTIALS, then
    ~/.dockyard/admin.pem."""
    if flag:
        return Path(flag).expanduser()
    value = env_default("CREDENTIALS", "", env)
    return Path(value).expanduser() if value else Path.home() / ".dockyard" / "admin.pem"
