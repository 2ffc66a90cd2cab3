"""The runtime keys of a service (logging, ulimits, namespaces, devices, DNS, ...) as docker
SDK `containers.create` arguments. Pure functions: no I/O.

Why a module of its own: `create.py` spells the task's identity, ports and mounts; these
are the many Compose keys the loader carries one to one into the ServiceSpec, and every
one of them must reach the engine ("nothing silently dropped"). A key left at its zero
value is not passed, so the engine's default holds.
"""

from __future__ import annotations

from typing import Any

from dockyard.common.spec import ports
from dockyard.v1 import specs_pb2

# Compose writes these security options with a colon; the Engine API wants "=".
_EQUALS_OPTS = ("seccomp", "apparmor", "label")

# network_mode values that take the container off the app network.
DETACHED_NETWORK_MODES = ports.DETACHED_NETWORK_MODES


def security_opt(raw: str) -> str:
    """`seccomp:unconfined` -> `seccomp=unconfined` (also apparmor, label). Pure."""
    name, sep, value = raw.partition(":")
    if sep and name in _EQUALS_OPTS:
        return f"{name}={value}"
    return raw


def device(d: specs_pb2.DeviceMapping) -> str:
    """`PathOnHost:PathInContainer:perms`, perms "rwm" by default. Pure."""
    return f"{d.host_path}:{d.container_path or d.host_path}:{d.permissions or 'rwm'}"


def dns_servers(resolver: str, user: list[str]) -> list[str]:
    """Dockyard's resolver first (it answers app names and forwards the rest), then the
    user's servers, which the container's libc only asks when the first does not answer.
    Pure."""
    head = [resolver] if resolver else []
    return head + [s for s in user if s != resolver]


def runtime_kwargs(spec: specs_pb2.ServiceSpec) -> dict[str, Any]:
    """The create arguments of the service's runtime keys; DNS and networking are left to
    the caller, which knows Dockyard's resolver and network. Pure."""
    kw: dict[str, Any] = {}
    if spec.HasField("logging") and spec.logging.driver:
        kw["log_config"] = {"Type": spec.logging.driver, "Config": dict(spec.logging.options)}
    if spec.ulimits:
        kw["ulimits"] = [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in spec.ulimits]
    if spec.HasField("init"):
        kw["init"] = spec.init
    if spec.extra_hosts:
        kw["extra_hosts"] = list(spec.extra_hosts)
    if spec.sysctls:
        kw["sysctls"] = dict(spec.sysctls)
    for flag in ("privileged", "read_only", "stdin_open", "tty"):
        if getattr(spec, flag):
            kw[flag] = True
    if spec.shm_size_bytes:
        kw["shm_size"] = spec.shm_size_bytes
    if spec.pids_limit:
        kw["pids_limit"] = spec.pids_limit
    if spec.security_opt:
        kw["security_opt"] = [security_opt(s) for s in spec.security_opt]
    if spec.devices:
        kw["devices"] = [device(d) for d in spec.devices]
    if spec.device_cgroup_rules:
        kw["device_cgroup_rules"] = list(spec.device_cgroup_rules)
    if spec.domainname:
        kw["domainname"] = spec.domainname
    if spec.group_add:
        kw["group_add"] = list(spec.group_add)
    for field, arg in (("pid", "pid_mode"), ("ipc", "ipc_mode"), ("uts", "uts_mode"),
                       ("userns_mode", "userns_mode")):
        if getattr(spec, field):
            kw[arg] = getattr(spec, field)
    if spec.platform:
        kw["platform"] = spec.platform
    return kw


def tmpfs_options(v: specs_pb2.VolumeMount) -> str:
    """A tmpfs mount's options string ("size=67108864,mode=1777" or ""). Pure."""
    opts = []
    if v.tmpfs_size_bytes:
        opts.append(f"size={v.tmpfs_size_bytes}")
    if v.tmpfs_mode:
        opts.append(f"mode={v.tmpfs_mode:o}")
    return ",".join(opts)


def bind_suffix(v: specs_pb2.VolumeMount) -> str:
    """The options after the target in a Binds string: "rw", "ro,z,rshared,nocopy". Pure."""
    opts = ["ro" if v.read_only else "rw"]
    if v.selinux:
        opts.append(v.selinux)
    if v.bind_propagation:
        opts.append(v.bind_propagation)
    if v.volume_nocopy:
        opts.append("nocopy")
    return ",".join(opts)


def needs_mounts_api(v: specs_pb2.VolumeMount) -> bool:
    """A Binds string cannot say "volume subpath" or "fail when the node path is
    missing"; those go through the Mounts API. Pure."""
    return bool(v.volume_subpath) or (v.type == "bind" and v.bind_no_create)


def mount(v: specs_pb2.VolumeMount, source: str) -> dict[str, Any]:
    """An Engine API Mount for one volume or bind. Pure."""
    out: dict[str, Any] = {"Type": v.type, "Source": source, "Target": v.target,
                           "ReadOnly": v.read_only}
    if v.type == "bind" and v.bind_propagation:
        out["BindOptions"] = {"Propagation": v.bind_propagation}
    if v.type == "volume":
        vo: dict[str, Any] = {}
        if v.volume_nocopy:
            vo["NoCopy"] = True
        if v.volume_subpath:
            vo["Subpath"] = v.volume_subpath
        if vo:
            out["VolumeOptions"] = vo
    return out
