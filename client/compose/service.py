"""One Compose service -> ``specs_pb2.ServiceSpec``.

Why: every per-service key is handled here or in ``ports``/``deploy``, in one table,
so "is this key supported?" has one answer: a key missing from ``HANDLED_KEYS`` is an
error that names it. Nothing is silently dropped. Pure: files are read only through
the injected ``read_file``.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.compose.deploy import (
    parse_depends_on,
    parse_deploy,
    parse_healthcheck,
    parse_restart,
)
from dockyard.client.compose.envfile import parse_env_file
from dockyard.client.compose.keys import SERVICE, check_table, triage
from dockyard.client.compose.ports import parse_expose, parse_ports, parse_volumes
from dockyard.client.compose.reader import (
    Mapping,
    ReadFile,
    boolean,
    check_keys,
    integer,
    items,
    key_value_pairs,
    mapping,
    octal_mode,
    read_text,
    scalar_text,
    string,
    string_list,
)
from dockyard.client.compose.runtime import parse_runtime
from dockyard.common.spec.errors import Notes, SpecError, kind, show
from dockyard.common.spec.images import image_reference_problem
from dockyard.common.spec.rules import name_problem
from dockyard.common.spec.units import parse_duration_ms
from dockyard.v1 import specs_pb2

# The service keys of the Compose specification; how each is handled is in ``keys``.
HANDLED_KEYS = tuple(key for key in SERVICE if "." not in key)


@dataclass(frozen=True)
class Declared:
    """Names declared at the top level, which services may refer to."""

    volumes: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    configs: frozenset[str] = frozenset()


@dataclass
class ServiceContext:
    """What parsing one service needs besides its own mapping; ``notes`` gathers its
    warnings and every problem found."""

    name: str
    read_file: ReadFile
    declared: Declared
    base_dir: str | None = None
    notes: Notes = field(default_factory=Notes)

    @property
    def where(self) -> str:
        return f"service {show(self.name)}"

    @property
    def warnings(self) -> list[str]:
        return self.notes.warnings

    def at(self, key: str) -> str:
        return f"{self.where}: {key}"

    def warn(self, message: str) -> None:
        self.notes.warn(f"{self.where}: {message}")


def _argv(value: Any, *, where: str) -> specs_pb2.Argv:
    """A string is split as a shell would (no shell runs); a list is taken as is."""
    if isinstance(value, str):
        try:
            return specs_pb2.Argv(args=shlex.split(value))
        except ValueError as exc:
            raise SpecError(f"{where}: cannot split {show(value)}: {exc}") from None
    if isinstance(value, list):
        return specs_pb2.Argv(
            args=[scalar_text(item, where=f"{where}[{i}]") for i, item in enumerate(value)]
        )
    raise SpecError(f"{where}: expected a string or a list, got {kind(value)}")


def _env_files(value: Any, ctx: ServiceContext) -> dict[str, str]:
    where = ctx.at("env_file")
    items = value if isinstance(value, list) else [value]
    merged: dict[str, str] = {}
    for index, item in enumerate(items):
        at = f"{where}[{index}]" if isinstance(value, list) else where
        required = True
        if isinstance(item, dict):
            body = mapping(item, where=at)
            check_keys(body, where=at, allowed={"path", "required"})
            if "path" not in body:
                raise SpecError(f'{at}: the long form needs "path"')
            path = string(body["path"], where=f"{at}.path")
            required = boolean(body.get("required", True), where=f"{at}.required")
        else:
            path = string(item, where=at)
        try:
            data = read_text(ctx.read_file, path, where=at)
        except SpecError:
            if required:
                raise
            continue
        merged.update(parse_env_file(data, where=f"{at} ({path})"))
    return merged


def _file_references(
    value: Any, *, where: str, declared: frozenset[str], what: str
) -> list[specs_pb2.FileReference]:
    result = []
    for at, item in items(value, where=where):
        if isinstance(item, dict):
            body = mapping(item, where=at)
            check_keys(body, where=at, allowed={"source", "target", "uid", "gid", "mode"})
            if "source" not in body:
                raise SpecError(f'{at}: the long form needs "source"')
            ref = specs_pb2.FileReference(source=string(body["source"], where=f"{at}.source"))
            if body.get("target") is not None:
                ref.target = string(body["target"], where=f"{at}.target")
            for key in ("uid", "gid"):
                if body.get(key) is not None:
                    setattr(ref, key, string(body[key], where=f"{at}.{key}"))
            if body.get("mode") is not None:
                ref.mode = octal_mode(body["mode"], where=f"{at}.mode")
        else:
            ref = specs_pb2.FileReference(source=string(item, where=at))
        if ref.source not in declared:
            raise SpecError(
                f"{at}: {what} {show(ref.source)} is not declared in the top-level {what}s"
            )
        result.append(ref)
    return result


def _networks(value: Any, ctx: ServiceContext, service: specs_pb2.ServiceSpec) -> list[str]:
    """The networks a service joins; their `aliases` go to `service.aliases`."""
    where = ctx.at("networks")
    if isinstance(value, dict):
        names = list(mapping(value, where=where))
        for name, options in value.items():
            body = mapping(options, where=f"{where}.{name}", allow_null=True)
            with ctx.notes.collect():
                check_table(body, table=SERVICE, path="networks",
                            where=f"{where}.{name}", notes=ctx.notes)  # fmt: skip
            if body and body.get("aliases") is not None:
                for alias in string_list(body["aliases"], where=f"{where}.{name}.aliases"):
                    problem = name_problem(alias)
                    if problem:
                        raise SpecError(f"{where}.{name}.aliases: {show(alias)} {problem}")
                    if alias not in service.aliases:
                        service.aliases.append(alias)
    else:
        names = string_list(value, where=where)
    for name in names:
        if name != "default" and name not in ctx.declared.networks:
            raise SpecError(
                f"{where}: network {show(name)} is not declared in the top-level networks"
            )
    return names


def _check_mounts(service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    for mount in service.volumes:
        if mount.type == "volume" and mount.source and mount.source not in ctx.declared.volumes:
            raise SpecError(
                f"{ctx.at('volumes')}: volume {show(mount.source)} is not declared in the "
                "top-level volumes"
            )
        if mount.type == "bind" and not mount.source.startswith("/"):
            written = mount.source
            if ctx.base_dir and written.startswith("."):
                mount.source = posixpath.normpath(posixpath.join(ctx.base_dir, written))
                ctx.warn(
                    f"bind mount {show(written)} is {mount.source} on the node that runs "
                    "the task; that path must exist there"
                )
            else:
                ctx.warn(
                    f"bind mount {show(written)} is a relative path; the node that runs the "
                    "task needs an absolute one"
                )


def _image(body: Mapping, service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    if body.get("image") is None:
        if body.get("build") is None:
            raise SpecError(f'{ctx.where}: "image" is missing')
        return  # build-only: the image is named when it is built
    service.image = string(body["image"], where=ctx.at("image"))
    problem = image_reference_problem(service.image)
    if problem:
        raise SpecError(f"{ctx.at('image')}: bad image reference {show(service.image)}: {problem}")


def _environment(body: Mapping, service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    environment: dict[str, str] = {}
    if body.get("env_file") is not None:
        environment.update(_env_files(body["env_file"], ctx))
    if body.get("environment") is not None:
        environment.update(key_value_pairs(body["environment"], where=ctx.at("environment")))
    service.environment.update(environment)


def _ports(body: Mapping, service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    service.ports.extend(parse_ports(body["ports"], where=ctx.at("ports"), notes=ctx.notes))
    unpublished = sorted({(p.container_port, p.protocol) for p in service.ports if not p.host_port})
    for port, protocol in unpublished[:5]:
        ctx.warn(
            f"port {port}/{protocol} has no host port: it is reachable on the app network "
            "only, not published on the node"
        )


def _volumes(body: Mapping, service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    service.volumes.extend(parse_volumes(body["volumes"], where=ctx.at("volumes"), notes=ctx.notes))
    _check_mounts(service, ctx)


def parse_service(value: Any, ctx: ServiceContext) -> specs_pb2.ServiceSpec:
    """Build one ``ServiceSpec``. Warnings and problems go to ``ctx.notes``: every bad
    key is reported, not only the first, and the caller raises them together."""
    body = mapping(value, where=ctx.where)
    warnings, problems = triage(body, table=SERVICE, where=ctx.where)
    ctx.notes.warnings.extend(warnings)
    ctx.notes.problems.extend(problems)
    service = specs_pb2.ServiceSpec(name=ctx.name, replicas=1)
    service.restart_policy.condition = specs_pb2.RESTART_ANY
    notes = ctx.notes
    with notes.collect():
        _image(body, service, ctx)
    for key in ("command", "entrypoint"):
        if key in body and body[key] is not None:
            with notes.collect():
                getattr(service, key).CopyFrom(_argv(body[key], where=ctx.at(key)))
                getattr(service, key).SetInParent()  # an empty list is still "set"
    with notes.collect():
        _environment(body, service, ctx)
    with notes.collect():
        if body.get("labels") is not None:
            service.labels.update(key_value_pairs(body["labels"], where=ctx.at("labels")))
    for key in ("user", "working_dir", "hostname", "stop_signal"):
        if body.get(key) is not None:
            with notes.collect():
                setattr(service, key, string(body[key], where=ctx.at(key)))
    with notes.collect():
        if body.get("stop_grace_period") is not None:
            service.stop_grace_period_ms = parse_duration_ms(
                body["stop_grace_period"], where=ctx.at("stop_grace_period")
            )
    for key in ("cap_add", "cap_drop"):
        if body.get(key) is not None:
            with notes.collect():
                getattr(service, key).extend(string_list(body[key], where=ctx.at(key)))
    steps = (
        ("ports", lambda: _ports(body, service, ctx)),
        ("expose", lambda: service.expose.extend(
            parse_expose(body["expose"], where=ctx.at("expose")))),
        ("volumes", lambda: _volumes(body, service, ctx)),
        ("depends_on", lambda: service.depends_on.extend(
            parse_depends_on(body["depends_on"], where=ctx.at("depends_on")))),
        ("healthcheck", lambda: service.healthcheck.CopyFrom(
            parse_healthcheck(body["healthcheck"], where=ctx.at("healthcheck"), notes=notes))),
        ("networks", lambda: service.networks.extend(_networks(body["networks"], ctx, service))),
    )  # fmt: skip
    for key, step in steps:
        if body.get(key) is not None:
            with notes.collect():
                step()
    with notes.collect():
        if "restart" in body:
            service.restart_policy.CopyFrom(parse_restart(body["restart"], where=ctx.at("restart")))
    for key, declared in (("secrets", ctx.declared.secrets), ("configs", ctx.declared.configs)):
        if body.get(key) is not None:
            with notes.collect():
                getattr(service, key).extend(
                    _file_references(body[key], where=ctx.at(key), declared=declared, what=key[:-1])
                )
    parse_runtime(body, service, where=ctx.where, notes=notes, read_file=ctx.read_file)
    with notes.collect():
        if "deploy" in body:
            parse_deploy(body["deploy"], service, where=ctx.at("deploy"), notes=notes)
    with notes.collect():
        if body.get("x-dockyard") is not None:
            _service_extension(body["x-dockyard"], service, ctx)
    return service


def _service_extension(value: Any, service: specs_pb2.ServiceSpec, ctx: ServiceContext) -> None:
    where = ctx.at("x-dockyard")
    body = mapping(value, where=where, allow_null=True)
    check_keys(body, where=where, allowed={"max_per_node", "volumes"})
    if body.get("volumes") is not None:
        policy = string(body["volumes"], where=f"{where}.volumes")
        if policy not in ("recreate", "wait"):
            raise SpecError(f"{where}.volumes: expected recreate or wait, got {show(policy)}")
        service.volumes_recreate = policy == "recreate"
    if body.get("max_per_node") is not None:
        limit = integer(body["max_per_node"], where=f"{where}.max_per_node", minimum=1)
        current = service.placement.max_per_node
        if current and current != limit:
            raise SpecError(
                f"{where}.max_per_node: {limit} disagrees with "
                f"deploy.placement.max_replicas_per_node {current}"
            )
        service.placement.max_per_node = limit
