"""Configuration has one home: defaults, environment and flags are resolved here.

Every setting has a default, may be overridden by a `DOCKYARD_*` environment variable,
and then by a command-line flag. Nothing else in the control plane reads the
environment. Where the CLI talks to (servers, admin credential, contexts) is resolved
by the client, in client/target.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from dockyard.common.spec.rules import DEFAULT_LIMITS, REPLICAS_CEILING, Limits


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
