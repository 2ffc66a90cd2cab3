"""Service keys that shape the container itself and go to the engine as they are:
logging, ulimits, init, extra_hosts, tmpfs, sysctls, privileges and namespaces, DNS,
devices, the Compose v2 resource shorthands (mem_limit, cpus, pids_limit, scale), and
``build``.

Why apart from ``service``: these keys carry no cluster logic (no placement, no
ordering); each becomes one field of ``ServiceSpec`` that the agent hands to the engine.
Keeping them here keeps ``service`` about what the control plane itself reasons on.
Pure: ``label_file`` is read through the injected ``read_file``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.client.compose.envfile import parse_env_file
from dockyard.client.compose.keys import SERVICE, check_table
from dockyard.client.compose.reader import (
    ReadFile,
    boolean,
    integer,
    items,
    key_value_pairs,
    mapping,
    read_text,
    scalar_text,
    string,
    string_list,
)
from dockyard.common.spec.errors import Notes, SpecError, show
from dockyard.common.spec.units import parse_cpus_millis, parse_size_bytes
from dockyard.v1 import specs_pb2

_NAMESPACES = {
    "pid": ("host",),
    "ipc": ("host", "private", "shareable", "none"),
    "uts": ("host",),
    "userns_mode": ("host",),
}
NETWORK_MODES = ("host", "none", "bridge", "default")


def _ulimits(value: Any, *, where: str) -> list[specs_pb2.Ulimit]:
    """``{nofile: {soft: 1024, hard: 2048}, nproc: 65535}``."""
    result = []
    for name, limit in mapping(value, where=where).items():
        at = f"{where}.{name}"
        if isinstance(limit, dict):
            body = mapping(limit, where=at)
            unknown = set(body) - {"soft", "hard"}
            if unknown or not {"soft", "hard"} <= set(body):
                raise SpecError(f"{at}: expected a number or {{soft: N, hard: N}}")
            soft = integer(body["soft"], where=f"{at}.soft", minimum=-1, maximum=2**62)
            hard = integer(body["hard"], where=f"{at}.hard", minimum=-1, maximum=2**62)
        else:
            soft = hard = integer(limit, where=at, minimum=-1, maximum=2**62)
        if hard != -1 and soft > hard:
            raise SpecError(f"{at}: soft limit {soft} is above the hard limit {hard}")
        result.append(specs_pb2.Ulimit(name=name, soft=soft, hard=hard))
    return result


def _extra_hosts(value: Any, *, where: str) -> list[str]:
    """``["db:10.0.0.2", "x=::1"]`` or ``{db: 10.0.0.2}`` -> ``["db:10.0.0.2", ...]``."""
    if isinstance(value, dict):
        pairs = [(host, scalar_text(ip, where=f"{where}.{host}")) for host, ip in value.items()]
    else:
        pairs = []
        for index, item in enumerate(string_list(value, where=where)):
            sep = "=" if "=" in item else ":"
            host, _, address = item.partition(sep)
            if not host or not address:
                raise SpecError(f"{where}[{index}]: expected HOST:IP, got {show(item)}")
            pairs.append((host, address))
    return [f"{host}:{address.strip('[]')}" for host, address in pairs]


def _tmpfs(value: Any, *, where: str) -> dict[str, str]:
    """``"/run"`` or ``["/run:size=64m", "/tmp"]`` -> {target: options}."""
    result = {}
    for index, item in enumerate(string_list(value, where=where, allow_single=True)):
        target, _, options = item.partition(":")
        if not target.startswith("/"):
            raise SpecError(f"{where}[{index}]: container path {show(target)} must be absolute")
        result[target] = options
    return result


def _devices(value: Any, *, where: str) -> list[specs_pb2.DeviceMapping]:
    """``"/dev/ttyUSB0[:/dev/ttyUSB0[:rwm]]"`` or the long form with source/target."""
    result = []
    for at, item in items(value, where=where):
        if isinstance(item, dict):
            body = mapping(item, where=at)
            host = string(body.get("source", ""), where=f"{at}.source")
            container = string(body.get("target", host), where=f"{at}.target")
            permissions = string(body.get("permissions", ""), where=f"{at}.permissions")
        else:
            parts = string(item, where=at).split(":")
            if len(parts) > 3 or not parts[0]:
                raise SpecError(f"{at}: expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]")
            host = parts[0]
            container = parts[1] if len(parts) > 1 else host
            permissions = parts[2] if len(parts) > 2 else ""
        if not host.startswith("/") and "=" not in host:  # CDI names look like vendor/x=y
            raise SpecError(f"{at}: device {show(host)} must be an absolute path")
        if permissions and not set(permissions) <= set("rwm"):
            raise SpecError(f"{at}: permissions {show(permissions)} must be letters of rwm")
        result.append(
            specs_pb2.DeviceMapping(
                host_path=host, container_path=container, permissions=permissions
            )
        )
    return result


def _build(value: Any, *, where: str, notes: Notes) -> specs_pb2.BuildSpec:
    if isinstance(value, str):
        return specs_pb2.BuildSpec(context=value)
    body = mapping(value, where=where)
    check_table(body, table=SERVICE, path="build", where=where, notes=notes)
    build = specs_pb2.BuildSpec(context=string(body.get("context", "."), where=f"{where}.context"))
    if body.get("dockerfile") is not None:
        build.dockerfile = string(body["dockerfile"], where=f"{where}.dockerfile")
    if body.get("target") is not None:
        build.target = string(body["target"], where=f"{where}.target")
    if body.get("args") is not None:
        build.args.update(key_value_pairs(body["args"], where=f"{where}.args"))
    return build


def _logging(value: Any, *, where: str, notes: Notes) -> specs_pb2.LoggingSpec:
    body = mapping(value, where=where)
    check_table(body, table=SERVICE, path="logging", where=where, notes=notes)
    logging = specs_pb2.LoggingSpec()
    if body.get("driver") is not None:
        logging.driver = string(body["driver"], where=f"{where}.driver")
    if body.get("options") is not None:
        logging.options.update(key_value_pairs(body["options"], where=f"{where}.options"))
    return logging


def _flag(field: str) -> Callable[[Any, specs_pb2.ServiceSpec, str], None]:
    def parse(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
        setattr(service, field, boolean(value, where=where))

    return parse


def _text(field: str) -> Callable[[Any, specs_pb2.ServiceSpec, str], None]:
    def parse(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
        setattr(service, field, string(value, where=where))

    return parse


def _texts(field: str) -> Callable[[Any, specs_pb2.ServiceSpec, str], None]:
    def parse(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
        getattr(service, field).extend(string_list(value, where=where, allow_single=True))

    return parse


def _namespace(field: str) -> Callable[[Any, specs_pb2.ServiceSpec, str], None]:
    def parse(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
        text = string(value, where=where)
        if text not in _NAMESPACES[field]:
            if ":" in text:
                raise SpecError(
                    f"{where}: {show(text)} is not supported by Dockyard: sharing another "
                    "container's namespace needs both on one node"
                )
            allowed = " or ".join(_NAMESPACES[field])
            raise SpecError(f"{where}: expected {allowed}, got {show(text)}")
        setattr(service, field, text)

    return parse


def _network_mode(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    text = string(value, where=where)
    if text.startswith(("service:", "container:")):
        raise SpecError(
            f"{where}: {show(text)} is not supported by Dockyard: tasks of different "
            "services may run on different nodes"
        )
    if text not in NETWORK_MODES:
        raise SpecError(f"{where}: expected host, none or bridge, got {show(text)}")
    service.network_mode = "" if text in ("bridge", "default") else text


def _platform(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    text = string(value, where=where)
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SpecError(f"{where}: expected OS/ARCH[/VARIANT], like linux/amd64, got {show(text)}")
    if parts[0] != "linux":
        raise SpecError(f"{where}: {show(text)} is not supported by Dockyard: nodes run Linux")
    service.platform = text


def _shm_size(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.shm_size_bytes = parse_size_bytes(value, where=where)


def _pids(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.pids_limit = integer(value, where=where, minimum=-1, maximum=2**62)


def _mem_limit(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.limits.memory_bytes = parse_size_bytes(value, where=where)


def _mem_reservation(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.reservations.memory_bytes = parse_size_bytes(value, where=where)


def _cpus(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.limits.cpu_millis = parse_cpus_millis(value, where=where)


def _scale(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.replicas = integer(value, where=where)


def _sysctls(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.sysctls.update(key_value_pairs(value, where=where))


def _security_opt(value: Any, service: specs_pb2.ServiceSpec, where: str) -> None:
    service.security_opt.extend(string_list(value, where=where))


# Keys read straight into one field; the order is the order Compose documents them in.
SIMPLE: dict[str, Callable[[Any, specs_pb2.ServiceSpec, str], None]] = {
    "cpus": _cpus,
    "device_cgroup_rules": _texts("device_cgroup_rules"),
    "dns": _texts("dns"),
    "dns_opt": _texts("dns_opt"),
    "dns_search": _texts("dns_search"),
    "domainname": _text("domainname"),
    "group_add": _texts("group_add"),
    "ipc": _namespace("ipc"),
    "mem_limit": _mem_limit,
    "mem_reservation": _mem_reservation,
    "network_mode": _network_mode,
    "pid": _namespace("pid"),
    "pids_limit": _pids,
    "platform": _platform,
    "privileged": _flag("privileged"),
    "read_only": _flag("read_only"),
    "scale": _scale,
    "security_opt": _security_opt,
    "shm_size": _shm_size,
    "stdin_open": _flag("stdin_open"),
    "sysctls": _sysctls,
    "tty": _flag("tty"),
    "userns_mode": _namespace("userns_mode"),
    "uts": _namespace("uts"),
}


def parse_runtime(
    body: dict[str, Any],
    service: specs_pb2.ServiceSpec,
    *,
    where: str,
    notes: Notes,
    read_file: ReadFile,
) -> None:
    """Read every engine-facing key of ``body`` into ``service``; each bad key is one
    problem in ``notes`` and the others are still read."""
    for key, parse in SIMPLE.items():
        if body.get(key) is not None:
            with notes.collect():
                parse(body[key], service, f"{where}: {key}")
    at = f"{where}: "
    with notes.collect():
        if body.get("init") is not None:
            service.init = boolean(body["init"], where=at + "init")
    with notes.collect():
        if body.get("ulimits") is not None:
            service.ulimits.extend(_ulimits(body["ulimits"], where=at + "ulimits"))
    with notes.collect():
        if body.get("extra_hosts") is not None:
            service.extra_hosts.extend(_extra_hosts(body["extra_hosts"], where=at + "extra_hosts"))
    with notes.collect():
        if body.get("tmpfs") is not None:
            service.tmpfs.update(_tmpfs(body["tmpfs"], where=at + "tmpfs"))
    with notes.collect():
        if body.get("devices") is not None:
            service.devices.extend(_devices(body["devices"], where=at + "devices"))
    with notes.collect():
        if body.get("logging") is not None:
            service.logging.CopyFrom(_logging(body["logging"], where=at + "logging", notes=notes))
    with notes.collect():
        if body.get("build") is not None:
            service.build.CopyFrom(_build(body["build"], where=at + "build", notes=notes))
    with notes.collect():
        if body.get("label_file") is not None:
            for path in string_list(body["label_file"], where=at + "label_file", allow_single=True):
                data = read_text(read_file, path, where=at + "label_file")
                for name, value in parse_env_file(data, where=f"{at}label_file ({path})").items():
                    service.labels.setdefault(name, value)
