"""What a service's ports take, in one place for the loader, the server and the agents.

A port published in ingress mode (Compose's default) belongs to the routing mesh: every
node answers it, so it is one per cluster and takes nothing on the node of a task. A
port in host mode is taken on the node that runs the task, and so is every port of a
service on the host's network (`network_mode: host`): its container listens on the
node itself. The scheduler keeps such tasks one per node per port. Pure.
"""

from __future__ import annotations

from dockyard.v1 import specs_pb2

INGRESS = "ingress"
HOST = "host"
MODES = ("", HOST, INGRESS)  # "" is host mode, as stored before the mesh
DETACHED_NETWORK_MODES = ("host", "none")


def on_host_network(spec: specs_pb2.ServiceSpec) -> bool:
    return spec.network_mode == "host"


def mesh_ports(spec: specs_pb2.ServiceSpec) -> list[specs_pb2.PortMapping]:
    """The ports the routing mesh answers on every node. Pure."""
    if spec.network_mode in DETACHED_NETWORK_MODES:
        return []
    return [p for p in spec.ports if p.host_port and p.mode == INGRESS]


def node_ports(spec: specs_pb2.ServiceSpec) -> frozenset[int]:
    """The port numbers a task of `spec` takes on its node. Pure."""
    if on_host_network(spec):
        exposed = {int(e.partition("/")[0]) for e in spec.expose if e.partition("/")[0].isdigit()}
        return frozenset({int(p.container_port) for p in spec.ports} | exposed)
    return frozenset(int(p.host_port) for p in spec.ports if p.host_port and p.mode != INGRESS)
