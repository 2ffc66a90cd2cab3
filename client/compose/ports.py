"""Ports (`ports`, `expose`) and mounts (`volumes`) of a service.

Why together: these are the keys through which a service touches the node it runs
on (a host port, a node path, a node-local volume), so they share the cluster caveats
that the warnings explain. Pure.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from dockyard.client.compose.keys import SERVICE, check_table
from dockyard.client.compose.reader import boolean, integer, items, mapping, octal_mode, string
from dockyard.common.spec.errors import Notes, SpecError, show
from dockyard.common.spec.ports import HOST, INGRESS
from dockyard.common.spec.units import parse_size_bytes
from dockyard.v1 import specs_pb2

_PROTOCOLS = ("tcp", "udp")
_PORT_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _port_range(text: str, *, where: str, spec: str) -> list[int]:
    match = _PORT_RANGE.fullmatch(text.strip())
    if not match:
        context = "" if text == spec else f" in {show(spec)}"
        raise SpecError(f"{where}: invalid port {show(text)}{context}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise SpecError(f"{where}: port {port} in {show(spec)} is not in 1-65535")
    if high < low:
        raise SpecError(f"{where}: port range {show(text)} runs backwards")
    return list(range(low, high + 1))


def _protocol(text: str, *, where: str, spec: str) -> str:
    protocol = text.strip().lower()
    if protocol not in _PROTOCOLS:
        raise SpecError(f"{where}: protocol {show(text)} in {show(spec)} is not tcp or udp")
    return protocol


def _split_host_ip(text: str, *, where: str) -> tuple[str, str]:
    """'[::1]:8080:80' -> ('::1', '8080:80'); '127.0.0.1:8080:80' -> ('127.0.0.1', ...)."""
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            raise SpecError(f"{where}: invalid host address in {show(text)}")
        return text[1:end], text[end + 2 :]
    parts = text.split(":")
    if len(parts) == 3:
        if not _IPV4.fullmatch(parts[0]):
            raise SpecError(f"{where}: invalid host address {show(parts[0])} in {show(text)}")
        return parts[0], ":".join(parts[1:])
    if len(parts) > 3:
        raise SpecError(f"{where}: cannot read port {show(text)}; write [HOST_IP:]HOST:CONTAINER")
    return "", text


def parse_short_port(text: str, *, where: str) -> list[specs_pb2.PortMapping]:
    """``"127.0.0.1:8000-8001:80-81/udp"`` -> one mapping per port of the range."""
    body, _, protocol_text = text.partition("/")
    protocol = _protocol(protocol_text, where=where, spec=text) if protocol_text else "tcp"
    host_ip, body = _split_host_ip(body.strip(), where=where)
    host_text, _, container_text = body.rpartition(":")
    containers = _port_range(container_text, where=where, spec=text)
    if not host_text:
        if host_ip:
            raise SpecError(f"{where}: {show(text)} names a host address but no host port")
        hosts = [0] * len(containers)
    else:
        hosts = _port_range(host_text, where=where, spec=text)
        if len(hosts) != len(containers):
            raise SpecError(
                f"{where}: {show(text)} maps {len(hosts)} host ports to "
                f"{len(containers)} container ports; the ranges must be the same length"
            )
    return [
        specs_pb2.PortMapping(container_port=c, host_port=h, protocol=protocol, host_ip=host_ip,
                              mode=INGRESS if h else "")
        for h, c in zip(hosts, containers, strict=True)
    ]


def parse_long_port(
    value: dict[str, Any], *, where: str, notes: Notes
) -> list[specs_pb2.PortMapping]:
    """``{target: 80, published: 8080, protocol: tcp, host_ip: ..., mode: host}``."""
    check_table(value, table=SERVICE, path="ports", where=where, notes=notes)
    if "target" not in value:
        raise SpecError(f'{where}: the long form needs "target" (the container port)')
    target = integer(value["target"], where=f"{where}.target", minimum=1, maximum=65535)
    protocol = "tcp"
    if value.get("protocol") is not None:
        text = string(value["protocol"], where=f"{where}.protocol")
        protocol = _protocol(text, where=f"{where}.protocol", spec=text)
    host_ip = ""
    if value.get("host_ip") is not None:
        host_ip = string(value["host_ip"], where=f"{where}.host_ip")
    mode = value.get("mode", INGRESS)
    if mode not in (INGRESS, HOST):
        raise SpecError(f'{where}.mode: expected "ingress" or "host", got {show(mode)}')
    published = value.get("published")
    if published is None:
        hosts = [0]
    else:
        published_text = string(published, where=f"{where}.published")
        hosts = _port_range(published_text, where=f"{where}.published", spec=published_text)
    if len(hosts) != 1:
        raise SpecError(f'{where}.published: a range needs the short form, like "8000-8001:80-81"')
    port = specs_pb2.PortMapping(
        container_port=target, host_port=hosts[0], protocol=protocol, host_ip=host_ip,
        mode=mode if hosts[0] else "",
    )
    for key in ("name", "app_protocol"):
        if value.get(key) is not None:
            setattr(port, key, string(value[key], where=f"{where}.{key}"))
    return [port]


def parse_ports(value: Any, *, where: str, notes: Notes) -> list[specs_pb2.PortMapping]:
    result: list[specs_pb2.PortMapping] = []
    for at, item in items(value, where=where):
        if isinstance(item, dict):
            result.extend(parse_long_port(mapping(item, where=at), where=at, notes=notes))
        else:
            result.extend(parse_short_port(string(item, where=at), where=at))
    return result


def parse_expose(value: Any, *, where: str) -> list[str]:
    """``["80", 8000-8001, "53/udp"]`` -> ``["80", "8000", "8001", "53/udp"]``."""
    result: list[str] = []
    for at, item in items(value, where=where):
        text = string(item, where=at)
        body, _, protocol_text = text.partition("/")
        protocol = _protocol(protocol_text, where=at, spec=text) if protocol_text else "tcp"
        for port in _port_range(body, where=at, spec=text):
            result.append(str(port) if protocol == "tcp" else f"{port}/{protocol}")
    return result


# Volumes ---------------------------------------------------------------------------

_VOLUME_TYPES = ("volume", "bind", "tmpfs")
_PROPAGATIONS = ("rprivate", "private", "rshared", "shared", "rslave", "slave")


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~"))


def _check_target(target: str, *, where: str) -> str:
    if not target.startswith("/"):
        raise SpecError(f"{where}: container path {show(target)} must be absolute")
    return target


_CONSISTENCY = ("cached", "delegated", "consistent")


def _short_options(
    mount: specs_pb2.VolumeMount, mode: str, *, where: str, text: str, notes: Notes
) -> None:
    """The third part of ``SOURCE:TARGET:OPTIONS``: ro, rw, z, Z, nocopy, propagation."""
    for option in mode.split(","):
        if option in _CONSISTENCY:
            head, _, shown = where.rpartition(": ")
            notes.warn(f"{head}: {shown}: {show(option)} is ignored: it only matters on "
                       "Docker Desktop")  # fmt: skip
        elif option in ("ro", "rw"):
            mount.read_only = option == "ro"
        elif option in ("z", "Z"):
            mount.selinux = option
        elif option == "nocopy":
            mount.volume_nocopy = True
        elif option in _PROPAGATIONS:
            mount.bind_propagation = option
        else:
            raise SpecError(
                f"{where}: mount option {show(option)} in {show(text)} is not one of ro, rw, "
                "z, Z, nocopy or a propagation"
            )


def parse_short_volume(text: str, *, where: str, notes: Notes) -> specs_pb2.VolumeMount:
    """``"data:/var/lib/x:ro"``, ``"./html:/srv"``, ``"/abs:/srv"`` or ``"/anon"``."""
    parts = text.split(":")
    mode = parts.pop() if len(parts) == 3 else ""
    if len(parts) == 1:
        mount = specs_pb2.VolumeMount(type="volume", target=_check_target(parts[0], where=where))
    elif len(parts) != 2 or not parts[0] or not parts[1]:
        raise SpecError(f"{where}: cannot read volume {show(text)}; write SOURCE:TARGET[:ro]")
    else:
        source, target = parts
        volume_type = "bind" if _is_path(source) else "volume"
        mount = specs_pb2.VolumeMount(
            type=volume_type,
            source=posixpath.normpath(source) if source.startswith("/") else source,
            target=_check_target(target, where=where),
        )
    if mode:
        _short_options(mount, mode, where=where, text=text, notes=notes)
    return mount


def _long_options(
    value: dict[str, Any], mount: specs_pb2.VolumeMount, *, where: str, notes: Notes
) -> None:
    """The ``bind``, ``volume`` and ``tmpfs`` sub-mappings of a long-syntax mount."""
    for kind_ in ("bind", "volume", "tmpfs"):
        if value.get(kind_) is None:
            continue
        at = f"{where}.{kind_}"
        body = mapping(value[kind_], where=at)
        check_table(body, table=SERVICE, path=f"volumes.{kind_}", where=at, notes=notes)
        if kind_ != mount.type:
            raise SpecError(f"{at}: options for {kind_} on a mount of type {mount.type}")
        if body.get("propagation") is not None:
            text = string(body["propagation"], where=f"{at}.propagation")
            if text not in _PROPAGATIONS:
                raise SpecError(f"{at}.propagation: expected one of {', '.join(_PROPAGATIONS)}")
            mount.bind_propagation = text
        if body.get("create_host_path") is not None:
            create = boolean(body["create_host_path"], where=f"{at}.create_host_path")
            mount.bind_no_create = not create
        if body.get("selinux") is not None:
            text = string(body["selinux"], where=f"{at}.selinux")
            if text not in ("z", "Z"):
                raise SpecError(f"{at}.selinux: expected z or Z, got {show(text)}")
            mount.selinux = text
        if body.get("nocopy") is not None:
            mount.volume_nocopy = boolean(body["nocopy"], where=f"{at}.nocopy")
        if body.get("subpath") is not None:
            mount.volume_subpath = string(body["subpath"], where=f"{at}.subpath")
        if body.get("size") is not None:
            mount.tmpfs_size_bytes = parse_size_bytes(body["size"], where=f"{at}.size")
        if body.get("mode") is not None:
            mount.tmpfs_mode = octal_mode(body["mode"], where=f"{at}.mode")


def parse_long_volume(
    value: dict[str, Any], *, where: str, notes: Notes
) -> specs_pb2.VolumeMount:
    check_table(value, table=SERVICE, path="volumes", where=where, notes=notes)
    volume_type = string(value.get("type", "volume"), where=f"{where}.type")
    if volume_type in ("npipe", "cluster", "image"):
        raise SpecError(
            f"{where}.type: {show(volume_type)} is not supported by Dockyard: mounts are "
            "volumes, binds or tmpfs"
        )
    if volume_type not in _VOLUME_TYPES:
        raise SpecError(f"{where}.type: expected volume, bind or tmpfs, got {show(volume_type)}")
    if "target" not in value:
        raise SpecError(f'{where}: the long form needs "target" (the container path)')
    target = _check_target(
        string(value["target"], where=f"{where}.target"), where=f"{where}.target"
    )
    source = ""
    if value.get("source") is not None:
        source = string(value["source"], where=f"{where}.source")
    if volume_type == "bind" and not source:
        raise SpecError(f'{where}: a bind mount needs "source" (a path on the node)')
    if volume_type == "bind" and not _is_path(source):
        raise SpecError(f"{where}.source: bind source {show(source)} must be a path")
    if volume_type == "tmpfs" and source:
        raise SpecError(f'{where}: a tmpfs mount takes no "source"')
    if volume_type == "volume" and source and _is_path(source):
        raise SpecError(f"{where}.source: {show(source)} is a path; use type: bind")
    read_only = False
    if "read_only" in value:
        read_only = boolean(value["read_only"], where=f"{where}.read_only")
    if source.startswith("/"):
        source = posixpath.normpath(source)
    mount = specs_pb2.VolumeMount(
        type=volume_type, source=source, target=target, read_only=read_only
    )
    _long_options(value, mount, where=where, notes=notes)
    return mount


def parse_volumes(value: Any, *, where: str, notes: Notes) -> list[specs_pb2.VolumeMount]:
    result = []
    for at, item in items(value, where=where):
        if isinstance(item, dict):
            result.append(parse_long_volume(mapping(item, where=at), where=at, notes=notes))
        else:
            result.append(parse_short_volume(string(item, where=at), where=at, notes=notes))
    return result
