"""Checks across services, run on a parsed ``AppSpec`` before anything is stored.

Why: some mistakes only show when services are seen together: a dependency on a
service that does not exist, a cycle, two services that publish the same host port,
reservations larger than limits. Each raises ``SpecError`` with one line. The only
change made here is explicit and reported: a service with several replicas that
publishes a host port gets ``max_per_node: 1``, because two of its tasks on one node
would clash on that port. Pure apart from that one field.
"""

from __future__ import annotations

from dockyard.common.spec import rules
from dockyard.common.spec.errors import SpecError, show
from dockyard.common.spec.ports import INGRESS
from dockyard.common.spec.units import format_bytes_human, format_cpus
from dockyard.scheduler.dag import find_cycle
from dockyard.v1 import specs_pb2


def check_service_name(name: str) -> None:
    problem = rules.name_problem(name)
    if problem:
        raise SpecError(f"service {show(name)}: a service name {problem}")


def _port_label(port: specs_pb2.PortMapping) -> str:
    address = f"{port.host_ip}:" if port.host_ip else ""
    return f"{address}{port.host_port}/{port.protocol}"


def _addresses_overlap(a: str, b: str) -> bool:
    wildcard = ("", "0.0.0.0", "::")
    return a == b or a in wildcard or b in wildcard


def _host_ports(service: specs_pb2.ServiceSpec) -> list[specs_pb2.PortMapping]:
    return [port for port in service.ports if port.host_port]


def _first_clash(
    ports: list[tuple[specs_pb2.PortMapping, str]],
) -> tuple[specs_pb2.PortMapping, str, str] | None:
    """The first port whose (host port, protocol) an earlier one already holds on an
    overlapping address: ``(port, its owner, the earlier owner)``.

    Linear in the number of ports (a dict per host port and protocol), so a range like
    ``1000-60000:1000-60000`` is checked in one pass. Pure.
    """
    seen: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for port, owner in ports:
        holders = seen.setdefault((port.host_port, port.protocol), [])
        for address, other in holders:
            if _addresses_overlap(port.host_ip, address):
                return port, owner, other
        holders.append((port.host_ip, owner))
    return None


def _check_ports_within(service: specs_pb2.ServiceSpec) -> None:
    clash = _first_clash([(port, service.name) for port in _host_ports(service)])
    if clash:
        raise SpecError(
            f"service {show(service.name)}: ports: host port {_port_label(clash[0])} "
            "is published twice"
        )


def _check_ports_across(services: list[specs_pb2.ServiceSpec]) -> None:
    # Within one service a port is checked by _check_ports_within; here, one entry per
    # (service, host port, protocol, address) so only clashes between services remain.
    unique: dict[tuple[str, int, str, str], specs_pb2.PortMapping] = {}
    for service in services:
        for port in _host_ports(service):
            unique.setdefault((service.name, port.host_port, port.protocol, port.host_ip), port)
    clash = _first_clash([(port, key[0]) for key, port in unique.items()])
    if clash:
        port, owner, other = clash
        raise SpecError(
            f"host port {_port_label(port)} is published by both {other} and "
            f"{owner}; they cannot share a node"
        )


def _one_per_node(service: specs_pb2.ServiceSpec) -> str | None:
    """Host ports are a per-node resource: several replicas need one node each (the
    routing mesh's ports take nothing on a task's node)."""
    ports = [p for p in _host_ports(service)
             if p.mode != INGRESS or service.network_mode == "host"]
    if not ports or (service.replicas <= 1 and not service.placement.max_per_node):
        return None
    limit = service.placement.max_per_node
    if limit > 1:
        raise SpecError(
            f"service {show(service.name)}: x-dockyard.max_per_node is {limit}, but it "
            f"publishes host port {_port_label(ports[0])}; two replicas on one node would clash"
        )
    if limit == 0 and service.replicas > 1:
        service.placement.max_per_node = 1
        return (
            f"service {show(service.name)}: publishes host port {_port_label(ports[0])}, so "
            f"at most one replica runs per node: its {service.replicas} replicas need "
            f"{service.replicas} nodes (max_per_node 1)"
        )
    return None


def _check_resources(service: specs_pb2.ServiceSpec) -> None:
    where = f"service {show(service.name)}: deploy.resources"
    limits, reservations = service.limits, service.reservations
    if limits.cpu_millis and reservations.cpu_millis > limits.cpu_millis:
        raise SpecError(
            f"{where}: reservations.cpus {format_cpus(reservations.cpu_millis)} exceeds "
            f"limits.cpus {format_cpus(limits.cpu_millis)}"
        )
    if limits.memory_bytes and reservations.memory_bytes > limits.memory_bytes:
        raise SpecError(
            f"{where}: reservations.memory {format_bytes_human(reservations.memory_bytes)} "
            f"exceeds limits.memory {format_bytes_human(limits.memory_bytes)}"
        )


def validate_app(spec: specs_pb2.AppSpec) -> list[str]:
    """Raise ``SpecError`` for the first cross-service problem; return warnings."""
    names = [service.name for service in spec.services]
    for name in names:
        check_service_name(name)
    known = set(names)
    for service in spec.services:
        for dependency in service.depends_on:
            if dependency.service not in known:
                raise SpecError(
                    f"service {show(service.name)}: depends_on names {show(dependency.service)}, "
                    "which is not a service of this app"
                )
    cycle = find_cycle(
        {service.name: [d.service for d in service.depends_on] for service in spec.services}
    )
    if cycle:
        raise SpecError(f"dependency cycle: {' -> '.join(cycle)}")
    warnings = []
    for service in spec.services:
        _check_resources(service)
        _check_ports_within(service)
        note = _one_per_node(service)
        if note:
            warnings.append(note)
    _check_ports_across(list(spec.services))
    return warnings
