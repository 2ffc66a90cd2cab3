"""Admission: the checks a request must pass on the server before anything is stored.

The Compose loader refuses malformed files on the client, but any gRPC client may call
the server, so the server judges every request itself: the app against the spec's own
rules (``dockyard.common.spec.admissible``, one source of truth with the loader), then what
only the cluster knows: replicas across the whole cluster, and requests no node could
ever hold. Every refusal is one line. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.common.spec import rules
from dockyard.common.spec.errors import show
from dockyard.common.spec.ports import mesh_ports
from dockyard.controlplane.snapshot import node_infos, task_request
from dockyard.scheduler import never_fits
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2


def admit(
    spec: specs_pb2.AppSpec,
    nodes: Sequence[objects_pb2.Node],
    *,
    limits: rules.Limits = rules.DEFAULT_LIMITS,
    services: Sequence[objects_pb2.Service] = (),
) -> str | None:
    """None when the app may be stored in this cluster; otherwise the one-line reason it
    may not. The app alone was judged first (``app_problem``: needs nothing from etcd);
    `services` are the services stored now, of every app, for the cluster's total."""
    others = sum(s.spec.replicas for s in services if s.app != spec.name)
    problem = cluster_replicas_problem(
        others + sum(s.replicas for s in spec.services), limits)
    if problem:
        return problem
    problem = mesh_port_problem(spec, services)
    if problem:
        return problem
    if not nodes:
        return None  # nothing to judge against yet: tasks wait for nodes
    infos = node_infos(nodes, ())
    for svc in spec.services:
        probe = objects_pb2.Task(app=spec.name, service=svc.name, spec=svc)
        probe.meta.id = f"{spec.name}.{svc.name}"
        try:
            request = task_request(probe)
        except ValueError as exc:
            return f'service "{svc.name}": {exc}'
        reason = never_fits(nodes=infos, task=request)
        if reason:
            return f'service "{svc.name}" can never be placed: {reason}'
    return None


def mesh_port_problem(
    spec: specs_pb2.AppSpec, services: Sequence[objects_pb2.Service]
) -> str | None:
    """Why the app's ports clash with another app's across the routing mesh, or None.

    A mesh port is answered on every node, so no other app may publish the same port
    and protocol, in either mode. Pure."""
    def published(s: specs_pb2.ServiceSpec) -> list[tuple[int, str, bool]]:
        mesh = {(p.host_port, p.protocol or "tcp") for p in mesh_ports(s)}
        return [(p.host_port, p.protocol or "tcp", (p.host_port, p.protocol or "tcp") in mesh)
                for p in s.ports if p.host_port]

    theirs: dict[tuple[int, str], tuple[str, bool]] = {}
    for other in services:
        if other.app != spec.name:
            for port, proto, mesh in published(other.spec):
                theirs[(port, proto)] = (f"{other.app}/{other.spec.name}", mesh)
    for svc in spec.services:
        for port, proto, mesh in published(svc):
            holder = theirs.get((port, proto))
            if holder is not None and (mesh or holder[1]):
                return (f'service "{svc.name}": port {port}/{proto} is already published by '
                        f"{holder[0]}, and the routing mesh answers it on every node")
    return None


def cluster_replicas_problem(total: int, limits: rules.Limits) -> str | None:
    """Why a cluster asked to run `total` replicas in all may not, or None."""
    if total > limits.replicas_per_cluster:
        return (f"the cluster would run {total:,} replicas; the limit is "
                f"{limits.replicas_per_cluster:,} (dockyard server --max-replicas-per-cluster)")
    return None


def name_problem(what: str, name: str, *, optional: bool = False) -> str | None:
    """Why `name`, given as the `what` of a request ("app", "service"), is not valid.
    `optional`: empty means "all" (a list filter) and is fine."""
    if optional and not name:
        return None
    problem = rules.name_problem(name)
    return f"{what} name {show(name)} {problem}" if problem else None


def node_request_problem(node: str, availability: int) -> str | None:
    """Why a SetAvailability request is not valid, or None."""
    problem = rules.dns_label_problem(node)
    if problem:
        return f"node name {show(node)} {problem}"
    if availability not in (objects_pb2.ACTIVE, objects_pb2.DRAIN):
        return f"availability {availability} is not ACTIVE ({objects_pb2.ACTIVE}) or DRAIN " \
               f"({objects_pb2.DRAIN})"
    return None


def logs_request_problem(app: str, service: str, slot: int, tail: int) -> str | None:
    """Why a Logs request is not valid, or None."""
    problem = name_problem("app", app) or name_problem("service", service)
    if problem:
        return problem
    if slot < 0:
        return f"slot must not be negative, got {slot}"
    if tail < -1:
        return f"tail must be -1 (all) or a number of lines, got {tail}"
    return None


EXEC_MAX_ARGS = 256
EXEC_MAX_BYTES = 64 * 1024  # argv, env, user and workdir together
EXEC_MAX_TERMINAL = 10_000


def exec_problem(start: control_pb2.ExecStart) -> str | None:
    """Why an Exec's start message is not valid, or None. Pure."""
    problem = name_problem("app", start.app) or name_problem("service", start.service)
    if problem:
        return problem
    if not start.argv or not start.argv[0]:
        return "exec needs a command (after --)"
    if len(start.argv) > EXEC_MAX_ARGS:
        return f"at most {EXEC_MAX_ARGS} arguments, got {len(start.argv)}"
    words = [*start.argv, *start.env, start.user, start.workdir]
    if any("\0" in w for w in words):
        return "the command, environment, user and workdir must not contain NUL bytes"
    if sum(len(w.encode()) for w in words) > EXEC_MAX_BYTES:
        return f"the command and environment must fit in {EXEC_MAX_BYTES // 1024} KiB"
    bad_env = next((e for e in start.env if "=" not in e or e.startswith("=")), None)
    if bad_env is not None:
        return f"environment entries are KEY=VALUE, got {bad_env!r}"
    if start.rows > EXEC_MAX_TERMINAL or start.cols > EXEC_MAX_TERMINAL:
        return f"terminal size {start.rows}x{start.cols} is out of range"
    return None


def scale_problem(
    request_app: str, request_service: str, replicas: int, *,
    services: Sequence[objects_pb2.Service], limits: rules.Limits,
) -> str | None:
    """Why a scale request may not be stored, or None. `services`: every stored service."""
    problem = name_problem("app", request_app) or name_problem("service", request_service)
    if problem:
        return problem
    problem = rules.replicas_problem(replicas, limits)
    if problem:
        return f"service {show(request_service)}: {problem}"
    others = sum(s.spec.replicas for s in services
                 if (s.app, s.spec.name) != (request_app, request_service))
    return cluster_replicas_problem(others + replicas, limits)


def apply_txn_problem(*, app: str, compares: int, ops: int, size: int) -> str | None:
    """Why an apply's one transaction would be refused by etcd, or None. An apply is all
    or nothing, so it is one transaction; the limits keep almost every apply inside it,
    and this catches the rest (most services replaced at once) before etcd is touched."""
    most = rules.ETCD_MAX_TXN_OPS
    if ops > most or compares > most:
        return (f"app {show(app)}: this apply writes {max(ops, compares)} objects in one "
                f"transaction; the most is {most}: apply the change in smaller steps "
                "(remove services first, then add the new ones)")
    if size > rules.ETCD_MAX_REQUEST_BYTES:
        return (f"app {show(app)}: this apply writes {rules.format_size(size)} in one "
                f"transaction; the most is {rules.format_size(rules.ETCD_MAX_REQUEST_BYTES)}")
    return None
