"""A task's container, as Docker Engine create arguments. Pure functions: no I/O.

Every container carries labels under `io.dockyard.` (app, service, slot, task id, spec
hash, node) so that a restarted agent finds and re-adopts exactly the containers it owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from dockyard.v1 import objects_pb2, specs_pb2

LABEL = "io.dockyard."
TASK_LABEL = LABEL + "task-id"
NODE_LABEL = LABEL + "node"
MS_TO_NS = 1_000_000


def container_name(task: objects_pb2.Task) -> str:
    return f"{task.app}.{task.service}.{task.slot}.{task.meta.id}"


def labels_for(task: objects_pb2.Task, node: str) -> dict[str, str]:
    out = dict(task.spec.labels)
    out.update({
        LABEL + "app": task.app,
        LABEL + "service": task.service,
        LABEL + "slot": str(task.slot),
        TASK_LABEL: task.meta.id,
        LABEL + "spec-hash": task.spec_hash,
        NODE_LABEL: node,
    })
    return out


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


def ports_for(spec: specs_pb2.ServiceSpec) -> dict[str, Any]:
    bindings: dict[str, list[Any]] = {}
    for p in spec.ports:
        key = f"{p.container_port}/{p.protocol or 'tcp'}"
        binding = (p.host_ip, p.host_port) if p.host_port and p.host_ip else (p.host_port or None)
        bindings.setdefault(key, []).append(binding)
    # The docker SDK takes one binding as itself and several as a list.
    ports: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in bindings.items()}
    for e in spec.expose:
        port, _, proto = e.partition("/")
        ports.setdefault(f"{port}/{proto or 'tcp'}", None)
    return ports


def volumes_for(task: objects_pb2.Task, secret_paths: Mapping[str, str]) -> list[str]:
    out = []
    for v in task.spec.volumes:
        mode = "ro" if v.read_only else "rw"
        if v.type == "volume" and v.source:
            out.append(f"{task.app}_{v.source}:{v.target}:{mode}")
        elif v.type == "bind":
            out.append(f"{v.source}:{v.target}:{mode}")
        elif v.type == "volume":
            out.append(v.target)  # anonymous: the engine names it
    for ref, default_dir in ((task.spec.secrets, "/run/secrets"), (task.spec.configs, "/")):
        for f in ref:
            host = secret_paths.get(f"{task.app}/{f.source}")
            if host is None:
                continue
            target = f.target or str(PurePosixPath(default_dir) / f.source)
            if not target.startswith("/"):
                target = str(PurePosixPath(default_dir) / target)
            out.append(f"{host}:{target}:ro")
    return out


def create_kwargs(
    task: objects_pb2.Task,
    *,
    node: str,
    secret_paths: Mapping[str, str],
    resolver: str = "",
    search: str = "",
) -> dict[str, Any]:
    """Keyword arguments for docker SDK `containers.create`."""
    spec = task.spec
    kw: dict[str, Any] = {
        "image": spec.image,
        "name": container_name(task),
        "labels": labels_for(task, node),
        "environment": {
            **dict(spec.environment),
            "DOCKYARD_NODE": node,
            "DOCKYARD_APP": task.app,
            "DOCKYARD_SERVICE": task.service,
            "DOCKYARD_SLOT": str(task.slot),
        },
        "hostname": spec.hostname or f"{task.service}-{task.slot}",
        "detach": True,
    }
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
    ports = ports_for(spec)
    if ports:
        kw["ports"] = ports
    volumes = volumes_for(task, secret_paths)
    if volumes:
        kw["volumes"] = volumes
    tmpfs = {v.target: "" for v in spec.volumes if v.type == "tmpfs"}
    if tmpfs:
        kw["tmpfs"] = tmpfs
    if resolver:
        kw["dns"] = [resolver]
    if search:
        kw["dns_search"] = [search]
    return kw


def stop_timeout_s(spec: specs_pb2.ServiceSpec) -> int:
    return max(0, round(spec.stop_grace_period_ms / 1000)) if spec.stop_grace_period_ms else 10
