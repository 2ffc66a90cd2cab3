"""What ``status()`` and ``up()`` report: where the testbed's services and hosts are."""

from __future__ import annotations

from dataclasses import dataclass, field

from .layout import Layout
from .processes import is_alive
from .state import TestbedState


@dataclass(frozen=True)
class HostStatus:
    name: str
    netns: str
    address: str
    docker_socket: str
    agent_pid: int | None
    dockerd_pid: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "netns": self.netns,
            "address": self.address,
            "docker_socket": self.docker_socket,
            "agent_pid": self.agent_pid,
            "dockerd_pid": self.dockerd_pid,
        }


@dataclass
class TestbedStatus:
    """Where the testbed's services are. ``problems`` (not in JSON) lists one-line
    reports of processes that failed to start."""

    __test__ = False

    server: str
    http: str
    registry: str
    image: str
    hosts: list[HostStatus]
    state_dir: str = ""
    problems: list[str] = field(default_factory=list)
    credentials: str = ""  # the server's admin credential, for the CLI's --credentials
    servers: list[str] = field(default_factory=list)  # every replica's gRPC address
    etcd: list[str] = field(default_factory=list)  # external etcd member URLs ([]: embedded)
    server_pids: list[int | None] = field(default_factory=list)  # per replica, None: down
    etcd_pids: list[int | None] = field(default_factory=list)  # per member, None: down

    def to_json(self) -> dict[str, object]:
        return {
            "server": self.server,
            "http": self.http,
            "registry": self.registry,
            "image": self.image,
            "hosts": [h.to_json() for h in self.hosts],
            "credentials": self.credentials,
            "servers": self.servers,
            "etcd": self.etcd,
            "server_pids": self.server_pids,
            "etcd_pids": self.etcd_pids,
        }


def _pid(st: TestbedState, key: str) -> int | None:
    rec = st.processes.get(key)
    return rec.pid if rec is not None and is_alive(rec) else None


def build_status(
    layout: Layout, st: TestbedState, problems: list[str] | None = None
) -> TestbedStatus:
    hosts = [
        HostStatus(
            h.name,
            h.netns,
            h.address,
            str(h.docker_socket),
            _pid(st, f"agent:{h.name}"),
            _pid(st, f"dockerd:{h.name}"),
        )
        for h in layout.hosts
    ]
    return TestbedStatus(
        layout.server_addr,
        layout.http_addr,
        layout.registry_addr,
        layout.image_tag,
        hosts,
        str(layout.state_dir),
        problems or [],
        # every replica's admin.pem is signed by the one cluster CA (kept in etcd), so the
        # first replica's works against all of them
        str(layout.server_dir / "admin.pem"),
        [s.addr for s in layout.servers],
        layout.etcd_urls,
        [_pid(st, s.key) for s in layout.servers],
        [_pid(st, m.key) for m in layout.etcd_members],
    )
