"""A multi-host Dockyard testbed on one machine.

Each host is a network namespace ``dyk-hN`` joined by a veth pair to the bridge
``dyk-br0`` (10.213.0.1/24) in the root namespace, with address 10.213.0.(10+N), its own
stock Docker Engine (no --bip, no routes or rules from the testbed, no default route),
and optionally a Dockyard agent, which builds the container network itself: a /24 of
the server's cluster CIDR 10.214.0.0/16 on its own bridge network ``dockyard0``, routes
to the other hosts' subnets, and its firewall rules. The root namespace runs a local
registry (10.213.0.1:5000, holding a busybox image built offline), an upstream DNS
server (10.213.0.1:53, answering ``registry.testbed``) that agents forward outside
names to, and the Dockyard server (10.213.0.1:7070 gRPC, :7080 HTTP) with its embedded
etcd (127.0.0.1:23790).

High availability (``up(etcd_members=M, servers=S)``): M real ``etcd`` members in the root
namespace (127.0.0.1, client port 24010+2i, peer port the next; data in STATE/etcd-N) and
S control-plane replicas (10.213.0.1:7070+i gRPC, :7080+i HTTP, data in STATE/server and
STATE/server-N, replica names s1..sS) sharing them; every agent joins every replica.
S > 1 needs M > 0.

Modules: ``layout`` (pure planning), ``netns`` (ip/iptables), ``processes`` (pids, logs,
nsenter), ``images`` (busybox image, build and push), ``engines`` (dockerd per host),
``services`` (registry, server, agents), ``state`` (the JSON record of what was made),
``status`` (what up/status report), ``cluster`` (up/down/status), ``helpers``
(preflight check and docker clients for tests).

Public API::

    up(nodes=3, ...) -> TestbedStatus     # idempotent: revives dead processes
    down()                                # removes exactly what up made; safe twice
    status() -> TestbedStatus | None
    kill_agent(host), start_agent(host), cut_link(host), restore_link(host)
    kill_server(index=0), kill_etcd_member(index)   # SIGKILL by default; up revives
    leader() -> "s2" | None               # the replica holding /dockyard/cluster/leader
    host_docker_url(host) -> "unix://…/hN/docker.sock"
    preflight() -> str | None             # why a testbed cannot run here
    docker_client(host)                   # docker SDK client on a host's engine

The state dir is /var/lib/dockyard-testbed unless ``state_dir`` or
$DOCKYARD_TESTBED_DIR says otherwise. Only one testbed may run on a machine at a time.
"""

from .cluster import (
    TestbedError,
    cut_link,
    down,
    host_docker_url,
    kill_agent,
    kill_etcd_member,
    kill_server,
    leader,
    restore_link,
    start_agent,
    status,
    up,
)
from .helpers import docker_client, preflight
from .images import build_and_push, busybox_context
from .status import HostStatus, TestbedStatus

__all__ = [
    "HostStatus",
    "TestbedError",
    "TestbedStatus",
    "build_and_push",
    "busybox_context",
    "cut_link",
    "docker_client",
    "down",
    "host_docker_url",
    "kill_agent",
    "kill_etcd_member",
    "kill_server",
    "leader",
    "preflight",
    "restore_link",
    "start_agent",
    "status",
    "up",
]
