"""A Compose file -> a validated ``specs_pb2.AppSpec``: the top level of the file.

Why: an apply is all or nothing, so the whole file is read and checked here before
anything is stored, and every problem is a ``SpecError`` with one readable line.
Pure: files named by ``env_file`` and by ``secrets``/``configs`` are read only through
the injected ``read_file`` (the caller resolves them against the Compose file's
directory), so tests need no disk.
"""

from __future__ import annotations

import re
from collections import abc
from dataclasses import dataclass
from typing import Any

from controlplane.spec.errors import SpecError, kind, show
from controlplane.spec.interpolate import interpolate
from controlplane.spec.reader import (
    Mapping,
    ReadFile,
    check_keys,
    integer,
    mapping,
    parse_yaml,
    read_text,
    string,
)
from controlplane.spec.service import Declared, ServiceContext, parse_service
from controlplane.spec.validate import check_service_name, validate_app
from dockyard.v1 import specs_pb2

TOP_LEVEL_KEYS = ("name", "version", "services", "volumes", "networks", "secrets", "configs")
STRATEGIES = {"binpack": specs_pb2.BINPACK, "spread": specs_pb2.SPREAD}
APP_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
OBJECT_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


@dataclass(frozen=True)
class LoadedApp:
    """A parsed, validated app and the warnings about what differs on a cluster."""

    spec: specs_pb2.AppSpec
    warnings: tuple[str, ...]


def normalize_app_name(raw: str) -> str:
    """What Compose does to a directory name: lowercase, keep ``a-z0-9_-``."""
    name = "".join(ch for ch in raw.lower() if ch.isascii() and (ch.isalnum() or ch in "_-"))
    return name.lstrip("_-")


def _app_name(body: Mapping, default_name: str) -> str:
    if body.get("name") is not None:
        name = string(body["name"], where="name")
        if not APP_NAME.fullmatch(name):
            raise SpecError(
                f"name: app name {show(name)} must be lowercase letters, digits, '-' "
                "and '_', starting with a letter or digit"
            )
        return name
    name = normalize_app_name(default_name)
    if not name:
        raise SpecError(
            f'cannot make an app name from {show(default_name)}; set "name" in the file'
        )
    return name


def _declarations(value: Any, *, what: str, allowed: set[str] | None) -> dict[str, Mapping]:
    """Top-level volumes/networks/secrets/configs: name -> its (possibly empty) options."""
    body = mapping(value, where=f"{what}s", allow_null=True)
    result = {}
    for name, options in body.items():
        if not OBJECT_NAME.fullmatch(name):
            raise SpecError(f"{what}s: {what} name {show(name)} is not valid")
        where = f"{what} {show(name)}"
        options_body = mapping(options, where=where, allow_null=True)
        if allowed is not None:
            check_keys(options_body, where=where, allowed=allowed)
        result[name] = options_body
    return result


def _volumes(value: Any) -> list[str]:
    declared = _declarations(value, what="volume", allowed={"driver"})
    for name, options in declared.items():
        driver = options.get("driver", "local")
        if driver != "local":
            raise SpecError(
                f"volume {show(name)}: driver {show(driver)} is not supported; "
                "a named volume is local to the node"
            )
    return list(declared)


def _file_objects(value: Any, *, what: str, read_file: ReadFile) -> list[specs_pb2.FileObject]:
    allowed = {"file", "external", "environment", "name"}
    if what == "config":
        allowed.add("content")
    declared = _declarations(value, what=what, allowed=allowed)
    result = []
    for name, options in declared.items():
        where = f"{what} {show(name)}"
        present = [key for key in ("external", "environment", "name") if key in options]
        if present:
            raise SpecError(
                f"{where}: {show(present[0])} is not supported; only file-based {what}s are "
                f'(write "file: PATH")'
            )
        if "file" in options and "content" in options:
            raise SpecError(f'{where}: give either "file" or "content", not both')
        if "content" in options:
            data = string(options["content"], where=f"{where}: content").encode()
        elif "file" in options:
            path = string(options["file"], where=f"{where}: file")
            data = read_text(read_file, path, where=where)
        else:
            raise SpecError(f'{where}: "file" is missing; only file-based {what}s are supported')
        result.append(specs_pb2.FileObject(name=name, data=data))
    return result


def _extension(value: Any) -> tuple[specs_pb2.Strategy, int]:
    """Top-level ``x-dockyard``: (strategy, default max_per_node)."""
    body = mapping(value, where="x-dockyard", allow_null=True)
    check_keys(body, where="x-dockyard", allowed={"strategy", "max_per_node"})
    strategy = specs_pb2.BINPACK
    if body.get("strategy") is not None:
        text = string(body["strategy"], where="x-dockyard: strategy")
        if text not in STRATEGIES:
            raise SpecError(f"x-dockyard: strategy must be binpack or spread, got {show(text)}")
        strategy = STRATEGIES[text]
    max_per_node = 0
    if body.get("max_per_node") is not None:
        max_per_node = integer(body["max_per_node"], where="x-dockyard: max_per_node", minimum=1)
    return strategy, max_per_node


def load_app(
    text: str,
    *,
    read_file: ReadFile,
    default_name: str,
    base_dir: str | None = None,
    environ: abc.Mapping[str, str] | None = None,
) -> LoadedApp:
    """Parse and validate a Compose file.

    ``read_file(path)`` returns the bytes of a file the Compose file names, with
    ``path`` as written there; ``default_name`` is the app name when the file has no
    ``name`` (the CLI passes the Compose file's directory name). ``base_dir``, when
    given, is the absolute directory that relative bind mounts (``./html:/srv``) are
    resolved against, as Compose does; without it they are kept as written.
    ``environ``, when given, is what `${VAR}` in values interpolates from, as Compose
    does (the CLI passes its environment over the file's `.env`); without it, `$` stays.
    Raises ``SpecError``, and only that, for every bad input.
    """
    if not isinstance(text, str):
        raise SpecError(f"expected the file's text, got {kind(text)}")
    document = parse_yaml(text)
    if document is None:
        raise SpecError('the file is empty; it needs a "services" mapping')
    if not isinstance(document, dict):
        raise SpecError(f"the top level must be a mapping, got {kind(document)}")
    warnings: list[str] = []
    if environ is not None:
        document, unset = interpolate(document, environ)
        warnings.extend(unset)
    for key in document:
        if not isinstance(key, str):
            raise SpecError(f"top-level key {show(key)} must be a string")
        if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
            raise SpecError(f"unknown top-level key {show(key)}")
    if "version" in document:
        warnings.append('"version" is ignored: it is obsolete, and the current format is read')
    spec = specs_pb2.AppSpec(name=_app_name(document, default_name))
    strategy, default_max_per_node = _extension(document.get("x-dockyard"))
    spec.strategy = strategy
    spec.volumes.extend(_volumes(document.get("volumes")))
    networks = _declarations(document.get("networks"), what="network", allowed=None)
    for name, options in networks.items():
        for key in options:
            if not key.startswith("x-"):
                raise SpecError(
                    f"network {show(name)}: {show(key)} is not supported; Dockyard creates "
                    'the app\'s network itself (declare it as "NAME: {}")'
                )
    spec.networks.extend(networks)
    spec.secrets.extend(_file_objects(document.get("secrets"), what="secret", read_file=read_file))
    spec.configs.extend(_file_objects(document.get("configs"), what="config", read_file=read_file))
    declared = Declared(
        volumes=frozenset(spec.volumes),
        networks=frozenset(spec.networks),
        secrets=frozenset(obj.name for obj in spec.secrets),
        configs=frozenset(obj.name for obj in spec.configs),
    )
    services = mapping(document.get("services"), where="services", allow_null=True)
    if not services:
        raise SpecError('"services" is missing or empty; an app needs at least one service')
    for name, body in services.items():
        check_service_name(name)
        ctx = ServiceContext(name=name, read_file=read_file, declared=declared, base_dir=base_dir)
        service = parse_service(body, ctx)
        if default_max_per_node and not service.placement.max_per_node:
            service.placement.max_per_node = default_max_per_node
        spec.services.append(service)
        warnings.extend(ctx.warnings)
    warnings.extend(validate_app(spec))
    return LoadedApp(spec=spec, warnings=tuple(warnings))
