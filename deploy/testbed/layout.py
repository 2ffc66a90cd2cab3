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

from dockyard.controlplane.embedded_etcd import MemberTls, member_argv
from dockyard.controlplane.security.etcd_certs import ClusterFiles

DEFAULT_STATE_DIR = Path("/var/lib/dockyard-testbed")
STATE_DIR_ENV = "DOCKYARD_TESTBED_DIR"

BRIDGE = "dyk-br0"
LAN_PREFIX = "10.213.0"
LAN_CIDR = f"{LAN_PREFIX}.0/24"
GATEWAY_IP = f"{LAN_PREFIX}.1"
# The server's --cluster-cidr: each agent gets a /24 of it from the control plane.
CLUSTER_CIDR = "10.214.0.0/16"
# The testbed's upstream DNS server (root namespace, on the bridge): it answers
# ``registry.testbed`` and nothing outside the testbed. Agents forward to it.
UPSTREAM_DNS_PORT = 53
REGISTRY_NAME = "registry.testbed"
REGISTRY_PORT = 5000
SERVER_PORT = 7070
HTTP_PORT = 7080
AGENT_HTTP_PORT = 7081  # each agent's /metrics, on its host's address
# The server's embedded etcd: not the default 2379, which a developer's or an integration
# test's etcd on the same machine may hold (seen: the server then exits at start).
ETCD_PORT = 23790
# External etcd members (``etcd_members`` > 0): member i (1-based) takes client port
# ETCD_MEMBER_PORT + 2(i-1) and the next as peer port, on 127.0.0.1. Clear of 2379/2380
# (a developer's etcd) and 23790/23791 (the embedded one).
ETCD_MEMBER_PORT = 24010
MAX_ETCD_MEMBERS = 9
MAX_SERVERS = 10  # gRPC 7070..7079 must stay below the HTTP ports 7080..
SERVER_LEADER_TTL = 3
IMAGE_NAME = "busybox:latest"
MAX_NODES = 200  # 10.213.s.{10+i} must stay below .254 (the router's)
NAME_PREFIX = "dyk-"
# `up(segments=N)`: the hosts split over N L2 segments (bridges dyk-br0.., LANs
# 10.213.s.0/24) joined by one router namespace at 10.213.s.254, so agents on different
# segments route to each other's containers over VXLAN, on one segment with host-gw.
MAX_SEGMENTS = 4
ROUTER_NETNS = f"{NAME_PREFIX}router"
ROUTER_OCTET = 254


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
    dir: Path
    data_root: Path
    exec_root: Path
    docker_pidfile: Path
    docker_socket: Path
    dockerd_log: Path
    agent_log: Path
    segment: int = 0
    bridge: str = BRIDGE
    # Routes to the other segments' LANs through the router (none with one segment).
    routes: tuple[Route, ...] = ()

    @property
    def docker_url(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def netns_path(self) -> Path:
        return Path("/var/run/netns") / self.netns


@dataclass(frozen=True)
class EtcdPlan:
    """One external etcd member (root namespace, loopback)."""

    index: int
    name: str
    client_port: int
    peer_port: int
    dir: Path
    data_dir: Path
    log: Path

    @property
    def client_url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def key(self) -> str:
        """Its key in the state file's ``processes``."""
        return f"etcd:{self.name}"


@dataclass(frozen=True)
class ServerPlan:
    """One control-plane replica (root namespace). The first keeps today's names."""

    index: int
    name: str
    addr: str
    http_addr: str
    dir: Path
    log: Path
    join_token_file: Path

    @property
    def key(self) -> str:
        """Its key in the state file's ``processes`` ("server" for the first)."""
        return "server" if self.index == 1 else f"server:{self.name}"


@dataclass(frozen=True)
class Layout:
    """The whole testbed as planned; derived only from ``nodes`` and ``state_dir``."""

    state_dir: Path
    bridge: str
    gateway_ip: str
    lan_cidr: str
    hosts: tuple[HostPlan, ...]
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
    upstream_dns_log: Path
    servers: tuple[ServerPlan, ...] = ()
    etcd_members: tuple[EtcdPlan, ...] = ()
    segments: int = 1

    @property
    def segment_bridges(self) -> tuple[str, ...]:
        return tuple(segment_bridge(s) for s in range(self.segments))

    @property
    def router_legs(self) -> tuple[RouterLeg, ...]:
        """The router's interface on each segment (none with one segment)."""
        if self.segments == 1:
            return ()
        return tuple(RouterLeg(f"{NAME_PREFIX}vr{s}", f"eth{s}", segment_bridge(s),
                               f"{segment_prefix(s)}.{ROUTER_OCTET}")
                     for s in range(self.segments))

    @property
    def root_routes(self) -> tuple[Route, ...]:
        """The root namespace (server, registry, DNS on segment 0) to the other LANs."""
        return tuple(Route(f"{segment_prefix(s)}.0/24", f"{LAN_PREFIX}.{ROUTER_OCTET}",
                           self.bridge) for s in range(1, self.segments))

    @property
    def etcd_tls(self) -> ClusterFiles:
        """Client TLS of the external etcd members (certificates made at `up`)."""
        return ClusterFiles(self.state_dir / "etcd-tls")

    @property
    def kek_file(self) -> Path:
        """The key every replica seals the cluster CA key with: one for all of them."""
        return self.state_dir / "kek"

    @property
    def upstream_dns(self) -> str:
        """IP:PORT of the testbed's upstream DNS server, as agents' --dns-upstream."""
        return f"{self.gateway_ip}:{UPSTREAM_DNS_PORT}"

    @property
    def etcd_urls(self) -> list[str]:
        """Client URLs of the external etcd members (empty: the server embeds one)."""
        return [m.client_url for m in self.etcd_members]

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.etcd_members)

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


@dataclass(frozen=True)
class RouterLeg:
    """One interface of the router namespace: a veth whose root side joins a bridge."""

    veth: str
    inner: str
    bridge: str
    address: str


def segment_prefix(segment: int) -> str:
    return f"10.213.{segment}"


def segment_bridge(segment: int) -> str:
    return f"{NAME_PREFIX}br{segment}"


def segment_of(i: int, nodes: int, segments: int) -> int:
    """Host i (1-based) of `nodes` goes to segment (i-1)*segments//nodes: contiguous
    blocks, the first segments a host larger when it does not divide. Pure."""
    return (i - 1) * segments // nodes


def _host(i: int, state_dir: Path, *, segment: int = 0, segments: int = 1) -> HostPlan:
    d = state_dir / f"h{i}"
    prefix = segment_prefix(segment)
    routes = tuple(Route(f"{segment_prefix(s)}.0/24", f"{prefix}.{ROUTER_OCTET}", "eth0")
                   for s in range(segments) if s != segment)
    return HostPlan(
        index=i,
        name=f"h{i}",
        netns=f"{NAME_PREFIX}h{i}",
        veth=f"{NAME_PREFIX}v{i}",
        address=f"{prefix}.{10 + i}",
        prefixlen=24,
        dir=d,
        data_root=d / "data",
        exec_root=d / "exec",
        docker_pidfile=d / "docker.pid",
        docker_socket=d / "docker.sock",
        dockerd_log=d / "dockerd.log",
        agent_log=d / "agent.log",
        segment=segment,
        bridge=segment_bridge(segment),
        routes=routes,
    )


def _server(i: int, state_dir: Path) -> ServerPlan:
    d = state_dir / ("server" if i == 1 else f"server-{i}")
    return ServerPlan(
        index=i,
        name=f"s{i}",
        addr=f"{GATEWAY_IP}:{SERVER_PORT + i - 1}",
        http_addr=f"{GATEWAY_IP}:{HTTP_PORT + i - 1}",
        dir=d,
        log=d / "server.log",
        join_token_file=d / "join-token",
    )


def _etcd(i: int, state_dir: Path) -> EtcdPlan:
    d = state_dir / f"etcd-{i}"
    port = ETCD_MEMBER_PORT + 2 * (i - 1)
    return EtcdPlan(
        index=i,
        name=f"e{i}",
        client_port=port,
        peer_port=port + 1,
        dir=d,
        data_dir=d / "data",
        log=d / "etcd.log",
    )


def plan(nodes: int, state_dir: Path, *, etcd_members: int = 0, servers: int = 1,
         segments: int = 1) -> Layout:
    """Compute the layout of a testbed with ``nodes`` hosts under ``state_dir``, with
    ``servers`` control-plane replicas and ``etcd_members`` external etcd members (0: the
    single server embeds its etcd), on ``segments`` L2 segments."""
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"nodes must be between 1 and {MAX_NODES}, got {nodes}")
    if not 1 <= segments <= min(MAX_SEGMENTS, nodes):
        raise ValueError(f"segments must be between 1 and {min(MAX_SEGMENTS, nodes)} "
                         f"(one host each at least), got {segments}")
    if not 0 <= etcd_members <= MAX_ETCD_MEMBERS:
        raise ValueError(
            f"etcd_members must be between 0 and {MAX_ETCD_MEMBERS}, got {etcd_members}"
        )
    if not 1 <= servers <= MAX_SERVERS:
        raise ValueError(f"servers must be between 1 and {MAX_SERVERS}, got {servers}")
    if servers > 1 and etcd_members == 0:
        raise ValueError(
            f"{servers} servers need an external etcd to share: pass etcd_members (e.g. 3)"
        )
    hosts = tuple(_host(i, state_dir, segment=segment_of(i, nodes, segments),
                        segments=segments) for i in range(1, nodes + 1))
    registry_addr = f"{GATEWAY_IP}:{REGISTRY_PORT}"
    return Layout(
        state_dir=state_dir,
        bridge=BRIDGE,
        gateway_ip=GATEWAY_IP,
        lan_cidr=LAN_CIDR,
        hosts=hosts,
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
        upstream_dns_log=state_dir / "upstream-dns.log",
        servers=tuple(_server(i, state_dir) for i in range(1, servers + 1)),
        etcd_members=tuple(_etcd(i, state_dir) for i in range(1, etcd_members + 1)),
        segments=segments,
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


def server_argv(layout: Layout, srv: ServerPlan | None = None) -> list[str]:
    """One control-plane replica's command line (root namespace); the first by default.

    Without external etcd members it is today's single server with its embedded etcd.
    """
    srv = srv or layout.servers[0]
    argv = [
        sys.executable,
        "-m",
        "dockyard.cli",
        "server",
        "--listen",
        srv.addr,
        "--http-listen",
        srv.http_addr,
        "--data-dir",
        str(srv.dir),
    ]
    if layout.etcd_members:
        argv += [
            "--etcd",
            ",".join(layout.etcd_urls),
            "--replica-name",
            srv.name,
            "--leader-ttl",
            str(SERVER_LEADER_TTL),
            *layout.etcd_tls.server_flags(),
            "--kek-file",
            str(layout.kek_file),
        ]
    else:
        argv += ["--etcd-port", str(ETCD_PORT)]
    # the testbed's credential stays in its state dir: never overwrite a user's own
    return [*argv, "--cluster-cidr", CLUSTER_CIDR, "--admin-credentials=",
            "--registry", layout.registry_addr]


def etcd_argv(layout: Layout, m: EtcdPlan, *, existing: bool) -> list[str]:
    """One external etcd member's command line (root namespace, loopback only; client
    TLS with the certificates in ``layout.etcd_tls``)."""
    return member_argv(
        binary="etcd",
        name=m.name,
        data_dir=m.data_dir,
        client_url=m.client_url,
        peer_url=m.peer_url,
        initial_cluster=layout.initial_cluster,
        state="existing" if existing else "new",
        token="dockyard-testbed",
        client_tls=MemberTls(*layout.etcd_tls.member(m.name), ca=layout.etcd_tls.ca),
        extra=("--heartbeat-interval", "100", "--election-timeout", "1000"),
    )


def agent_argv(
    layout: Layout, h: HostPlan, token_file: Path, cpus: str, memory: str, labels: str
) -> list[str]:
    """One Dockyard agent's command line (run inside the host's netns by the caller). The
    join token is read from the server's token file, never passed on the command line, so
    it stays out of `ps` and of the log's start line. The node's certificate is kept in
    the host's own directory."""
    return [
        sys.executable,
        "-m",
        "dockyard.cli",
        "agent",
        "--join",
        ",".join(s.addr for s in layout.servers) or layout.server_addr,
        "--token-file",
        str(token_file),
        "--state-dir",
        str(h.dir / "agent"),
        "--files-dir",  # its tmpfs for secrets: unmounted with the testbed
        str(h.dir / "files"),
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
        "--dns-upstream",
        layout.upstream_dns,
        # On the host's testbed address (not its netns loopback), so the root namespace
        # (tests, a Prometheus beside the testbed) can scrape the agent's metrics.
        "--http-listen",
        f"{h.address}:{AGENT_HTTP_PORT}",
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
