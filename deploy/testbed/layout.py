"""Pure planning of the testbed: names, addresses, subnets, paths and routes.

Nothing here touches the system. ``plan(nodes, state_dir)`` returns a frozen ``Layout``
that every I/O module (netns, processes, cluster) reads from, so the naming scheme lives
in exactly one place.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/dockyard-testbed")
STATE_DIR_ENV = "DOCKYARD_TESTBED_DIR"

BRIDGE = "dyk-br0"
LAN_PREFIX = "10.213.0"
LAN_CIDR = f"{LAN_PREFIX}.0/24"
GATEWAY_IP = f"{LAN_PREFIX}.1"
CONTAINER_SUPERNET = "10.214.0.0/16"
REGISTRY_PORT = 5000
SERVER_PORT = 7070
HTTP_PORT = 7080
# The server's embedded etcd: not the default 2379, which a developer's or an integration
# test's etcd on the same machine may hold (seen: the server then exits at start).
ETCD_PORT = 23790
IMAGE_NAME = "busybox:latest"
MAX_NODES = 200  # 10.213.0.{10+i} must stay below .255, and 10.214.{i} below 256
NAME_PREFIX = "dyk-"


@dataclass(frozen=True)
class Route:
    """A route ``dest via gateway dev device`` inside one namespace (None = root)."""

    dest: str
    via: str
    device: str


@dataclass(frozen=True)
class HostPlan:
    """Everything that names or addresses one testbed host."""

    index: int
    name: str
    netns: str
    veth: str
    address: str
    prefixlen: int
    container_subnet: str
    bip: str
    dir: Path
    data_root: Path
    exec_root: Path
    docker_pidfile: Path
    docker_socket: Path
    dockerd_log: Path
    agent_log: Path
    routes: tuple[Route, ...]

    @property
    def docker_url(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def netns_path(self) -> Path:
        return Path("/var/run/netns") / self.netns


@dataclass(frozen=True)
class Layout:
    """The whole testbed as planned; derived only from ``nodes`` and ``state_dir``."""

    state_dir: Path
    bridge: str
    gateway_ip: str
    lan_cidr: str
    hosts: tuple[HostPlan, ...]
    root_routes: tuple[Route, ...]
    registry_addr: str
    registry_dir: Path
    registry_config: Path
    registry_log: Path
    server_addr: str
    http_addr: str
    server_dir: Path
    server_log: Path
    join_token_file: Path
    image_tag: str
    image_dir: Path
    state_file: Path
    lock_file: Path

    def host(self, ref: int | str) -> HostPlan:
        """Find a host by 1-based index, name ("h2") or netns name ("dyk-h2")."""
        for h in self.hosts:
            if ref in (h.index, h.name, h.netns, str(h.index)):
                return h
        raise KeyError(f"no testbed host {ref!r} (hosts: {', '.join(h.name for h in self.hosts)})")


def resolve_state_dir(state_dir: Path | None = None) -> Path:
    """The argument, else $DOCKYARD_TESTBED_DIR, else /var/lib/dockyard-testbed."""
    if state_dir is not None:
        return Path(state_dir).absolute()
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env).absolute() if env else DEFAULT_STATE_DIR


def _host(i: int, nodes: int, state_dir: Path) -> HostPlan:
    d = state_dir / f"h{i}"
    routes = tuple(
        Route(dest=f"10.214.{j}.0/24", via=f"{LAN_PREFIX}.{10 + j}", device="eth0")
        for j in range(1, nodes + 1)
        if j != i
    )
    return HostPlan(
        index=i,
        name=f"h{i}",
        netns=f"{NAME_PREFIX}h{i}",
        veth=f"{NAME_PREFIX}v{i}",
        address=f"{LAN_PREFIX}.{10 + i}",
        prefixlen=24,
        container_subnet=f"10.214.{i}.0/24",
        bip=f"10.214.{i}.1/24",
        dir=d,
        data_root=d / "data",
        exec_root=d / "exec",
        docker_pidfile=d / "docker.pid",
        docker_socket=d / "docker.sock",
        dockerd_log=d / "dockerd.log",
        agent_log=d / "agent.log",
        routes=routes,
    )


def plan(nodes: int, state_dir: Path) -> Layout:
    """Compute the layout of a testbed with ``nodes`` hosts under ``state_dir``."""
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"nodes must be between 1 and {MAX_NODES}, got {nodes}")
    hosts = tuple(_host(i, nodes, state_dir) for i in range(1, nodes + 1))
    registry_addr = f"{GATEWAY_IP}:{REGISTRY_PORT}"
    return Layout(
        state_dir=state_dir,
        bridge=BRIDGE,
        gateway_ip=GATEWAY_IP,
        lan_cidr=LAN_CIDR,
        hosts=hosts,
        root_routes=tuple(Route(h.container_subnet, h.address, BRIDGE) for h in hosts),
        registry_addr=registry_addr,
        registry_dir=state_dir / "registry",
        registry_config=state_dir / "registry" / "config.yml",
        registry_log=state_dir / "registry" / "registry.log",
        server_addr=f"{GATEWAY_IP}:{SERVER_PORT}",
        http_addr=f"{GATEWAY_IP}:{HTTP_PORT}",
        server_dir=state_dir / "server",
        server_log=state_dir / "server" / "server.log",
        join_token_file=state_dir / "server" / "join-token",
        image_tag=f"{registry_addr}/{IMAGE_NAME}",
        image_dir=state_dir / "image",
        state_file=state_dir / "state.json",
        lock_file=state_dir / "lock",
    )


def dockerd_argv(h: HostPlan, registry_addr: str) -> list[str]:
    """dockerd's command line (run inside the host's netns by the caller)."""
    return [
        "dockerd",
        "--data-root",
        str(h.data_root),
        "--exec-root",
        str(h.exec_root),
        "--pidfile",
        str(h.docker_pidfile),
        "-H",
        h.docker_url,
        "--bip",
        h.bip,
        "--insecure-registry",
        registry_addr,
        "--iptables=true",
        # Several engines share the machine: keep their containerd objects apart in
        # case a system containerd is ever found and shared.
        "--containerd-namespace",
        f"dockyard-{h.name}",
        "--containerd-plugins-namespace",
        f"dockyard-{h.name}-plugins",
        "--shutdown-timeout",
        "3",
    ]


def server_argv(layout: Layout) -> list[str]:
    """The Dockyard control-plane server's command line (root namespace)."""
    return [
        sys.executable,
        "-m",
        "controlplane",
        "server",
        "--listen",
        layout.server_addr,
        "--http-listen",
        layout.http_addr,
        "--data-dir",
        str(layout.server_dir),
        "--etcd-port",
        str(ETCD_PORT),
        # the testbed's credential stays in its state dir: never overwrite a user's own
        "--admin-credentials=",
    ]


def agent_argv(
    layout: Layout, h: HostPlan, token: str, cpus: str, memory: str, labels: str
) -> list[str]:
    """One Dockyard agent's command line (run inside the host's netns by the caller)."""
    return [
        sys.executable,
        "-m",
        "controlplane",
        "agent",
        "--join",
        layout.server_addr,
        f"--token={token}",
        "--name",
        h.name,
        "--address",
        h.address,
        "--docker",
        h.docker_url,
        "--cpus",
        cpus,
        "--memory",
        memory,
        "--labels",
        labels,
        "--container-subnet",
        h.container_subnet,
    ]


def host_labels(labels: tuple[str, ...], host_name: str) -> str:
    """Comma-joined labels for one host.

    A label ``K=V`` applies to every host; ``h2:K=V`` applies only to host h2.
    """
    out: list[str] = []
    for lab in labels:
        prefix, sep, rest = lab.partition(":")
        if sep and "=" not in prefix:
            if prefix == host_name:
                out.append(rest)
        else:
            out.append(lab)
    return ",".join(out)
