"""Which privileges over its node an app asks for, and whether they are granted.

Why: a few Compose keys hand a container the node itself: ``privileged``, added
capabilities, a bind of ``/`` or of the engine's socket, the node's PID/IPC/network
namespaces, host devices. Written by mistake or copied from a random example, they make
one app the owner of every node it lands on. So they are refused unless the operator
says yes, for the cluster (``dockyard server --allow ...``) or for one app
(``dockyard apply --allow ...``). The CLI checks before it sends; the server checks
again in Control.Apply, with the same functions, so no client can skip it.

Both functions are pure: the server calls them on the ``AppSpec`` it receives.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable

from dockyard.v1 import specs_pb2

PRIVILEGED = "privileged"
CAPABILITIES = "capabilities"
HOST_BINDS = "host-binds"
HOST_NAMESPACES = "host-namespaces"
DEVICES = "devices"

# Every privilege, with what asks for it (for --help and docs/security.md).
PRIVILEGES: dict[str, str] = {
    PRIVILEGED: "privileged: true, or security_opt that turns off seccomp/AppArmor/SELinux",
    CAPABILITIES: "cap_add (any capability beyond the engine's defaults)",
    HOST_BINDS: "a bind mount of /, of the engine's socket, or of a folder holding it",
    HOST_NAMESPACES: 'pid, ipc, uts, userns_mode or network_mode: "host"',
    DEVICES: "devices or device_cgroup_rules",
}

# Paths whose bind gives the container the node: the root, and the engine's sockets
# (a bind of a folder that holds the socket counts too).
_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")
_UNCONFINED = (
    "seccomp:unconfined", "seccomp=unconfined", "apparmor:unconfined", "apparmor=unconfined",
    "label:disable", "label=disable", "systempaths=unconfined",
)  # fmt: skip


def _dangerous_bind(source: str) -> bool:
    path = posixpath.normpath(source) if source.startswith("/") else ""
    if not path:
        return False
    if path in ("/", "//"):
        return True
    return any(sock == path or sock.startswith(path.rstrip("/") + "/") for sock in _SOCKETS)


def service_privileges(service: specs_pb2.ServiceSpec) -> set[str]:
    """The privileges one service needs. Pure."""
    needed: set[str] = set()
    if service.privileged or any(opt.strip() in _UNCONFINED for opt in service.security_opt):
        needed.add(PRIVILEGED)
    if service.cap_add:
        needed.add(CAPABILITIES)
    if any(m.type == "bind" and _dangerous_bind(m.source) for m in service.volumes):
        needed.add(HOST_BINDS)
    namespaces = (service.pid, service.ipc, service.uts, service.userns_mode, service.network_mode)
    if "host" in namespaces:
        needed.add(HOST_NAMESPACES)
    if service.devices or service.device_cgroup_rules:
        needed.add(DEVICES)
    return needed


def required_privileges(app_spec: specs_pb2.AppSpec) -> set[str]:
    """The privileges any service of the app needs. Pure."""
    needed: set[str] = set()
    for service in app_spec.services:
        needed |= service_privileges(service)
    return needed


def parse_allow(values: Iterable[str]) -> set[str]:
    """``["privileged,host-binds", "devices"]`` -> the set; raises ``ValueError`` for a
    name that is not a privilege. ``all`` grants every one. Pure."""
    allowed: set[str] = set()
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name == "all":
                allowed |= set(PRIVILEGES)
            elif name in PRIVILEGES:
                allowed.add(name)
            else:
                raise ValueError(
                    f"--allow: unknown privilege {name!r}; expected {', '.join(PRIVILEGES)} or all"
                )
    return allowed


def privilege_problem(app_spec: specs_pb2.AppSpec, allowed: Collection[str]) -> str | None:
    """One line naming the services and privileges not granted, or None. Pure."""
    missing: dict[str, list[str]] = {}
    for service in app_spec.services:
        for name in sorted(service_privileges(service) - set(allowed)):
            missing.setdefault(name, []).append(service.name)
    if not missing:
        return None
    parts = [f"{name} (service {', '.join(services)})" for name, services in missing.items()]
    flags = ",".join(missing)
    return (
        f"app {app_spec.name!r} needs privileges not allowed: {'; '.join(parts)}; "
        f"apply with --allow {flags} or start the server with --allow {flags}"
    )
