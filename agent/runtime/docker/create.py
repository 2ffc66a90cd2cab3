"""A task's container as docker SDK `containers.create` arguments. Pure functions: no I/O.

The neutral parts (name, labels, environment) come from `agent.containers`; this module
only spells them, and the rest of the service spec, the way the Docker Engine API wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from dockyard.agent.containers import (
    container_name,
    environment_for,
    hostname_for,
    labels_for,
    volume_name,
)
from dockyard.agent.runtime.docker.options import (
    DETACHED_NETWORK_MODES,
    bind_suffix,
    dns_servers,
    mount,
    needs_mounts_api,
    runtime_kwargs,
    tmpfs_options,
)
from dockyard.agent.runtime.driver import CreateRequest, DriverError
from dockyard.common.files import SECRET, mount_key, references
from dockyard.common.spec.ports import INGRESS
from dockyard.v1 import objects_pb2, specs_pb2

MS_TO_NS = 1_000_000


def healthcheck_for(spec: specs_pb2.ServiceSpec) -> dict[str, Any] | None:
    if not spec.HasField("healthcheck"):
        return None
    hc = spec.healthcheck
    if hc.disable:
        return {"test": ["NONE"]}
    out: dict[str, Any] = {"test": list(hc.test)}
    for key, ms in (("interval", hc.interval_ms), ("timeout", hc.timeout_ms),
                    ("start_period", hc.start_period_ms)):
        if ms:
            out[key] = ms * MS_TO_NS
    if hc.retries:
        out["retries"] = hc.retries
    return out


# The Engine API version that reads Healthcheck.StartInterval.
START_INTERVAL_API = (1, 44)


def start_interval_ns(spec: specs_pb2.ServiceSpec) -> int:
    """`healthcheck.start_interval` in nanoseconds, 0 when unset. The docker SDK cannot
    say it, so the driver adds it to the create request itself. Pure."""
    if not spec.HasField("healthcheck") or spec.healthcheck.disable:
        return 0
    return spec.healthcheck.start_interval_ms * MS_TO_NS


# The Engine API version that reads a volume mount's VolumeOptions.Subpath.
SUBPATH_API = (1, 45)


def subpath_refusal(spec: specs_pb2.ServiceSpec, api_version: str) -> str | None:
    """Why an engine of ``api_version`` cannot make this container, or None: an older
    engine ignores a volume's subpath and would mount the whole volume. Pure."""
    if not api_version or api_at_least(api_version, SUBPATH_API):
        return None  # unknown: the engine is not judged
    paths = [v.target for v in spec.volumes if v.volume_subpath]
    if not paths:
        return None
    return (f"volumes.volume.subpath ({', '.join(paths)}) needs Docker Engine 26 (API 1.45); "
            f"this node's engine speaks API {api_version}: the whole volume is not "
            "mounted instead")


def api_at_least(version: str, wanted: tuple[int, int]) -> bool:
    """Whether an Engine API version ("1.45") is at least ``wanted``. Pure."""
    major, _, minor = version.partition(".")
    try:
        return (int(major), int(minor)) >= wanted
    except ValueError:
        return False


def ports_for(spec: specs_pb2.ServiceSpec) -> dict[str, Any]:
    """Host-mode ports are published by the engine; the routing mesh's (ingress mode)
    only exposed: every node's agent forwards to them (agent/network/mesh.py)."""
    bindings: dict[str, list[Any]] = {}
    for p in spec.ports:
        key = f"{p.container_port}/{p.protocol or 'tcp'}"
        if p.mode == INGRESS:
            bindings.setdefault(key, [])
            continue
        binding = (p.host_ip, p.host_port) if p.host_port and p.host_ip else (p.host_port or None)
        bindings.setdefault(key, []).append(binding)
    # The docker SDK takes one binding as itself and several as a list.
    ports: dict[str, Any] = {k: (v[0] if len(v) == 1 else v) if v else None
                             for k, v in bindings.items()}
    for e in spec.expose:
        port, _, proto = e.partition("/")
        ports.setdefault(f"{port}/{proto or 'tcp'}", None)
    return ports


def volume_source(task: objects_pb2.Task, v: specs_pb2.VolumeMount) -> str:
    """The engine's name of a mount's source (see `volume_name`). Pure."""
    if v.type == "volume" and v.source:
        return volume_name(task, v.source)
    return v.source


def mounts_for(task: objects_pb2.Task) -> list[dict[str, Any]]:
    """The mounts a Binds string cannot express (volume subpath, bind that must exist),
    as Engine API Mounts. Pure."""
    return [mount(v, volume_source(task, v)) for v in task.spec.volumes if needs_mounts_api(v)]


def tmpfs_for(spec: specs_pb2.ServiceSpec) -> dict[str, str]:
    """Service `tmpfs` and tmpfs-type volumes: container path -> mount options. Pure."""
    out = dict(spec.tmpfs)
    out.update({v.target: tmpfs_options(v) for v in spec.volumes if v.type == "tmpfs"})
    return out


def volumes_for(task: objects_pb2.Task, secret_paths: Mapping[str, str]) -> list[str]:
    out = []
    for v in task.spec.volumes:
        if needs_mounts_api(v):
            continue  # see mounts_for
        if v.type == "volume" and v.source:
            out.append(f"{volume_source(task, v)}:{v.target}:{bind_suffix(v)}")
        elif v.type == "bind":
            out.append(f"{v.source}:{v.target}:{bind_suffix(v)}")
        elif v.type == "volume":
            out.append(v.target)  # anonymous: the engine names it
    for kind, f in references(task.spec):
        default_dir = "/run/secrets" if kind == SECRET else "/"
        host = secret_paths.get(mount_key(kind, f))
        if host is None:
            raise DriverError(f"{kind} {f.source} (version {f.version}) has not been "
                              "delivered to this node")
        target = f.target or str(PurePosixPath(default_dir) / f.source)
        if not target.startswith("/"):
            target = str(PurePosixPath(default_dir) / target)
        out.append(f"{host}:{target}:ro")
    return out


def create_kwargs(req: CreateRequest) -> dict[str, Any]:
    """Keyword arguments for docker SDK `containers.create`."""
    task = req.task
    spec = task.spec
    kw: dict[str, Any] = {
        "image": spec.image,
        "name": container_name(task),
        "labels": labels_for(task, req.node),
        "environment": environment_for(task, req.node),
        "hostname": hostname_for(task),
        "detach": True,
    }
    if spec.uts == "host" and not spec.hostname:
        del kw["hostname"]  # the engine refuses a hostname in the host's UTS namespace
    if spec.HasField("command"):
        kw["command"] = list(spec.command.args)
    if spec.HasField("entrypoint"):
        kw["entrypoint"] = list(spec.entrypoint.args)
    if spec.user:
        kw["user"] = spec.user
    if spec.working_dir:
        kw["working_dir"] = spec.working_dir
    if spec.stop_signal:
        kw["stop_signal"] = spec.stop_signal
    if spec.cap_add:
        kw["cap_add"] = list(spec.cap_add)
    if spec.cap_drop:
        kw["cap_drop"] = list(spec.cap_drop)
    if spec.limits.cpu_millis:
        kw["nano_cpus"] = spec.limits.cpu_millis * MS_TO_NS
    if spec.limits.memory_bytes:
        kw["mem_limit"] = spec.limits.memory_bytes
    hc = healthcheck_for(spec)
    if hc is not None:
        kw["healthcheck"] = hc
    kw.update(runtime_kwargs(spec))
    detached = spec.network_mode in DETACHED_NETWORK_MODES
    ports = ports_for(spec)
    if ports and not detached:
        kw["ports"] = ports
    volumes = volumes_for(task, req.files)
    if volumes:
        kw["volumes"] = volumes
    mounts = mounts_for(task)
    if mounts:
        kw["mounts"] = mounts
    tmpfs = tmpfs_for(spec)
    if tmpfs:
        kw["tmpfs"] = tmpfs
    if detached:
        # Off the app network: no published ports, and Dockyard's resolver and search
        # domain are not reachable from there; the user's own DNS settings still hold.
        kw["network_mode"] = spec.network_mode
    resolver, search = ("", "") if detached else (req.resolver, req.search)
    dns = dns_servers(resolver, list(spec.dns))
    if dns:
        kw["dns"] = dns
    searches = ([search] if search else []) + list(spec.dns_search)
    if searches:
        kw["dns_search"] = searches
    if spec.dns_opt:
        kw["dns_opt"] = list(spec.dns_opt)
    if req.network and not detached:
        kw["network"] = req.network
    return kw
