"""What a new cluster's first start tells its operator: where the admin credential is, and
the exact command that joins a host as an agent.

Printed once, by the replica that made the cluster CA (a restart, or a second replica,
prints nothing). When the server listens on every interface (0.0.0.0), the command names
this host's first address other than loopback, as agents on other hosts reach it.
"""

from __future__ import annotations

import socket
from pathlib import Path


def join_address(listen: str, host_ip: str) -> str:
    """HOST:PORT an agent dials, from the --listen address; a wildcard host becomes
    `host_ip`. Pure."""
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = host_ip
    return f"{host}:{port}"


def first_start_message(*, listen: str, data_dir: Path, admin_copy: Path | None,
                        host_ip: str) -> str:
    """The lines the first start prints. Pure."""
    token_file = data_dir / "join-token"
    copy = f" (a copy is at {admin_copy})" if admin_copy is not None else ""
    return "\n".join([
        "A new Dockyard cluster is ready.",
        f"The admin credential is {data_dir / 'admin.pem'}{copy}.",
        "To join a host, copy the join token file to it and run there:",
        "",
        f"  dockyard agent --join {join_address(listen, host_ip)} --token-file {token_file}",
        "",
    ])


def host_ip() -> str:
    """This host's first address other than loopback, else 127.0.0.1."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return "127.0.0.1"
    for *_, addr in infos:
        ip = str(addr[0])
        if not ip.startswith("127."):
            return ip
    return "127.0.0.1"


def same_file_text(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False
