"""Whether a wire ``AppSpec`` keeps every rule, whoever built it. Pure.

Why: the server cannot trust that a request came from the Compose loader. Any gRPC
client holding the admin credential can send an ``AppSpec`` with a name containing '/',
a negative reservation, an enum value no release defines, or a billion replicas. This
module judges the message itself, field by field, against ``rules``; the loader runs it
too, last, so a file the CLI accepts is one the server accepts (with default limits).

The checks run cheapest first and the walk is linear in the message's size, which the
transport already bounds: the size limits come before anything that iterates.
"""

from __future__ import annotations

import ipaddress

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from dockyard.common.spec import rules
from dockyard.common.spec.errors import SpecError, show
from dockyard.common.spec.images import image_reference_problem
from dockyard.common.spec.validate import validate_app
from dockyard.v1 import specs_pb2

_INTEGERS = {
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64,
}
# Fields where -1 means "unlimited", as the engine reads them; every other number is >= 0.
_FLOOR: dict[tuple[str, str], int] = {
    ("Ulimit", "soft"): -1,
    ("Ulimit", "hard"): -1,
    ("ServiceSpec", "pids_limit"): -1,
}
_LIMITED: dict[tuple[str, str], int] = {
    ("Resources", "cpu_millis"): rules.MAX_CPU_MILLIS,
    ("Resources", "memory_bytes"): rules.MAX_MEMORY_BYTES,
}


def app_problem(spec: specs_pb2.AppSpec, limits: rules.Limits = rules.DEFAULT_LIMITS) -> str | None:
    """None when `spec` may be stored; otherwise the one-line reason it may not."""
    try:
        check_app(spec, limits)
    except SpecError as exc:
        return exc.message
    return None


def check_app(
    spec: specs_pb2.AppSpec, limits: rules.Limits = rules.DEFAULT_LIMITS, *,
    stored: bool = True,
) -> None:
    """Raise ``SpecError`` for the first rule `spec` breaks. Changes nothing.

    `stored=False` (the loader, for `dockyard config`) lets a service with ``build`` and
    no image through: it can be shown, not stored (the CLI's apply refuses it)."""
    # Secrets and configs are stored apart from the app: their content is not its size.
    contents = sum(len(obj.data) for obj in (*spec.secrets, *spec.configs))
    problem = rules.size_problem(spec.ByteSize() - contents, limits.app_bytes, what="the app")
    if problem:
        raise SpecError(problem)
    problem = rules.name_problem(spec.name)
    if problem:
        raise SpecError(f"app name {show(spec.name)} {problem}")
    if not spec.services:
        raise SpecError(f"app {show(spec.name)} has no services; an app needs at least one")
    if len(spec.services) > limits.services_per_app:
        raise SpecError(f"app {show(spec.name)} has {len(spec.services)} services; the limit is "
                        f"{limits.services_per_app} per app")
    for service in spec.services:
        problem = rules.name_problem(service.name)
        if problem:
            raise SpecError(f"service {show(service.name)}: the service name {problem}")
    _check_fields(spec, where=f"app {show(spec.name)}")
    _check_objects(spec, limits)
    seen: set[str] = set()
    for service in spec.services:
        _check_service(service, limits, stored=stored)
        if service.name in seen:
            raise SpecError(f"service {show(service.name)} is defined twice")
        seen.add(service.name)
    copy = specs_pb2.AppSpec()
    copy.CopyFrom(spec)
    validate_app(copy)  # the loader's checks across services: dependencies, cycles, ports


def _check_objects(spec: specs_pb2.AppSpec, limits: rules.Limits) -> None:
    for what, names in (("volume", spec.volumes), ("network", spec.networks)):
        for name in names:
            problem = rules.object_name_problem(name)
            if problem:
                raise SpecError(f"{what} name {show(name)} {problem}")
    for what, objects in (("secret", spec.secrets), ("config", spec.configs)):
        seen: set[str] = set()
        for obj in objects:
            problem = rules.object_name_problem(obj.name)
            if problem:
                raise SpecError(f"{what} name {show(obj.name)} {problem}")
            problem = rules.size_problem(len(obj.data), limits.file_bytes, what="its content")
            if problem:
                users = [s.name for s in spec.services
                         if obj.name in {r.source for r in getattr(s, f"{what}s")}]
                where = f"service {show(users[0])}: " if users else ""
                raise SpecError(f"{where}{what} {show(obj.name)}: {problem}")
            if obj.name in seen:
                raise SpecError(f"{what} {show(obj.name)} is defined twice")
            seen.add(obj.name)


def _check_service(service: specs_pb2.ServiceSpec, limits: rules.Limits, *, stored: bool
                   ) -> None:
    where = f"service {show(service.name)}"
    problem = (
        rules.size_problem(service.ByteSize(), limits.service_bytes, what="its spec")
        or rules.replicas_problem(service.replicas, limits)
    )
    if problem:
        raise SpecError(f"{where}: {problem}")
    unbuilt = not stored and not service.image and service.HasField("build")
    problem = None if unbuilt else image_reference_problem(service.image)
    if problem:
        raise SpecError(f"{where}: image {show(service.image)} is not valid: {problem}")
    for port in service.ports:
        problem = rules.port_problem(port.container_port)
        if port.host_port and not problem:
            problem = rules.port_problem(port.host_port)
        if not problem and port.protocol not in rules.PROTOCOLS:
            problem = f"protocol {show(port.protocol)} is not tcp or udp"
        if not problem and port.host_ip:
            problem = _address_problem(port.host_ip)
        if problem:
            raise SpecError(f"{where}: ports: {problem}")
    for mount in service.volumes:
        if mount.type not in ("volume", "bind", "tmpfs"):
            raise SpecError(f"{where}: volumes: type {show(mount.type)} is not volume, bind "
                            "or tmpfs")
        if not mount.target.startswith("/"):
            raise SpecError(f"{where}: volumes: target {show(mount.target)} is not an absolute "
                            "path")
    for dep in service.depends_on:
        problem = rules.name_problem(dep.service)
        if problem:
            raise SpecError(f"{where}: depends_on: service name {show(dep.service)} {problem}")
    for key in ("update_config", "rollback_config"):
        problem = update_config_problem(getattr(service, key))
        if problem:
            raise SpecError(f"{where}: {key}: {problem}")


def update_config_problem(update: specs_pb2.UpdateConfig) -> str | None:
    """Why an update or rollback config is not one Dockyard can follow, or None. Pure."""
    for key, allowed in (("order", rules.UPDATE_ORDERS),
                         ("failure_action", rules.FAILURE_ACTIONS)):
        value = getattr(update, key)
        if value and value not in allowed:
            return f"{key} {show(value)} is not {' or '.join(allowed)}"
    if not 0.0 <= update.max_failure_ratio <= 1.0:  # NaN is neither
        return f"max_failure_ratio {update.max_failure_ratio} is not from 0 to 1"
    return None


def _address_problem(address: str) -> str | None:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return f"host address {show(address)} is not an IP address"
    return None


def _check_fields(message: Message, *, where: str) -> None:
    """Every field of every nested message: strings short and free of NUL, numbers not
    negative and within their range, enum values defined, lists bounded. Linear."""
    for field, value in message.ListFields():
        at = f"{where}: {field.name}"
        if field.is_repeated:
            items = list(value.values()) if _is_map(field) else list(value)
            most = rules.MAX_PORTS if field.name == "ports" else rules.MAX_LIST_LENGTH
            if field.name != "services" and len(items) > most:
                raise SpecError(f"{at} has {len(items)} entries; the limit is {most}")
            if _is_map(field):
                for key in value:
                    _check_scalar(field, key, at=at, type_=FieldDescriptor.TYPE_STRING)
                entry = field.message_type
                assert entry is not None  # a map field's entry type
                value_field = entry.fields_by_name["value"]
                for item in items:
                    _check_scalar(value_field, item, at=at, type_=value_field.type)
                continue
        else:
            items = [value]
        for item in items:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                label = at
                if field.name == "services":
                    label = f"service {show(item.name)}"
                _check_fields(item, where=label)
            else:
                _check_scalar(field, item, at=at, type_=field.type)


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return (field.type == FieldDescriptor.TYPE_MESSAGE and entry is not None
            and entry.GetOptions().map_entry)


def _check_scalar(field: FieldDescriptor, value: object, *, at: str, type_: int) -> None:
    if type_ == FieldDescriptor.TYPE_STRING and isinstance(value, str):
        if len(value) > rules.MAX_STRING_LENGTH:
            raise SpecError(f"{at}: a value is longer than {rules.MAX_STRING_LENGTH} characters")
        if "\x00" in value:
            raise SpecError(f"{at}: {show(value)} contains a NUL character")
    elif type_ in _INTEGERS and isinstance(value, int):
        owner = field.containing_type.name if field.containing_type else ""
        floor = _FLOOR.get((owner, field.name), 0)
        if value < floor:
            if floor == 0:
                raise SpecError(f"{at}: must not be negative, got {value}")
            raise SpecError(f"{at}: must be at least {floor}, got {value}")
        ceiling = _LIMITED.get((owner, field.name))
        if ceiling is None and field.name.endswith("_ms"):
            ceiling = rules.MAX_DURATION_MS
        if ceiling is not None and value > ceiling:
            raise SpecError(f"{at}: {value} is more than the most allowed, {ceiling:,}")
    elif (type_ == FieldDescriptor.TYPE_ENUM and isinstance(value, int)
          and field.enum_type is not None and value not in field.enum_type.values_by_number):
        names = ", ".join(v.name for v in field.enum_type.values)
        raise SpecError(f"{at}: {value} is not one of {names}")
