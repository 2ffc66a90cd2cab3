"""A Compose file -> a validated ``specs_pb2.AppSpec``: the top level of the file.

Why: an apply is all or nothing, so the whole file is read and checked here before
anything is stored, and every problem is a ``SpecError`` with one readable line.
Pure: files named by ``env_file`` and by ``secrets``/``configs`` are read only through
the injected ``read_file`` (the caller resolves them against the Compose file's
directory), so tests need no disk.
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass
from typing import Any

from dockyard.client.compose.files import UNSET_KEY, compose_files
from dockyard.client.compose.interpolate import interpolate
from dockyard.client.compose.keys import CONFIG, NETWORK, SECRET, TOP_LEVEL, VOLUME, Key, triage
from dockyard.client.compose.reader import (
    Mapping,
    ReadFile,
    boolean,
    check_keys,
    integer,
    key_value_pairs,
    mapping,
    parse_yaml,
    read_text,
    string,
)
from dockyard.client.compose.service import Declared, ServiceContext, parse_service
from dockyard.common.files import command_of
from dockyard.common.spec import rules
from dockyard.common.spec.admissible import check_app
from dockyard.common.spec.errors import Notes, SpecError, kind, show
from dockyard.common.spec.validate import check_service_name, validate_app
from dockyard.v1 import specs_pb2

STRATEGIES = {"binpack": specs_pb2.BINPACK, "spread": specs_pb2.SPREAD}


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
        problem = rules.name_problem(name)
        if problem:
            raise SpecError(f"name: app name {show(name)} {problem}")
        return name
    name = normalize_app_name(default_name)
    if not name:
        raise SpecError(
            f'cannot make an app name from {show(default_name)}; set "name" in the file'
        )
    return name


def _declarations(
    value: Any, *, what: str, table: dict[str, Key], notes: Notes
) -> dict[str, Mapping]:
    """Top-level volumes/networks/secrets/configs: name -> its (possibly empty) options.

    Keys are sorted by ``table``: warnings go to ``notes``, problems are raised."""
    body = mapping(value, where=f"{what}s", allow_null=True)
    result = {}
    problems: list[str] = []
    for name, options in body.items():
        problem = rules.object_name_problem(name)
        if problem:
            problems.append(f"{what}s: {what} name {show(name)} is not valid: it {problem}")
            continue
        where = f"{what} {show(name)}"
        try:
            options_body = mapping(options, where=where, allow_null=True)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        warnings, found = triage(options_body, table=table, where=where)
        notes.warnings.extend(warnings)
        problems.extend(found)
        result[name] = options_body
    if problems:
        raise SpecError.many(problems)
    return result


def _volumes(value: Any, notes: Notes) -> list[specs_pb2.VolumeSpec]:
    declared = _declarations(value, what="volume", table=VOLUME, notes=notes)
    result = []
    for name, options in declared.items():
        where = f"volume {show(name)}"
        volume = specs_pb2.VolumeSpec(name=name)
        if options.get("driver") is not None:
            volume.driver = string(options["driver"], where=f"{where}: driver")
            if volume.driver == "local":
                volume.driver = ""
        if options.get("driver_opts") is not None:
            volume.driver_opts.update(
                key_value_pairs(options["driver_opts"], where=f"{where}: driver_opts")
            )
        if options.get("labels") is not None:
            volume.labels.update(key_value_pairs(options["labels"], where=f"{where}: labels"))
        external = options.get("external")
        if isinstance(external, dict):  # the old form, external: {name: X}
            volume.external = True
            volume.engine_name = string(external.get("name", name), where=f"{where}: external")
        elif external is not None:
            volume.external = boolean(external, where=f"{where}: external")
        if options.get("name") is not None:
            volume.engine_name = string(options["name"], where=f"{where}: name")
        if volume.external and (volume.driver or volume.driver_opts):
            raise SpecError(f"{where}: an external volume takes no driver or driver_opts")
        if volume.driver:
            notes.warn(
                f"{where}: driver {show(volume.driver)} must be installed on every node "
                "that runs a task using it"
            )
        result.append(volume)
    return result


def _file_objects(
    value: Any,
    *,
    what: str,
    read_file: ReadFile,
    environ: abc.Mapping[str, str],
    notes: Notes,
) -> list[specs_pb2.FileObject]:
    table = CONFIG if what == "config" else SECRET
    declared = _declarations(value, what=what, table=table, notes=notes)
    result = []
    problems: list[str] = []
    for name, options in declared.items():
        where = f"{what} {show(name)}"
        sources = [key for key in ("file", "content", "environment") if key in options]
        try:
            if len(sources) > 1:
                raise SpecError(f"{where}: give one of file, content or environment, not several")
            if options.get("external") is not None and boolean(
                    options["external"], where=f"{where}: external"):
                if sources:
                    raise SpecError(f"{where}: an external {what} takes no "
                                    f"{sources[0]}; it is made with `dockyard "
                                    f"{command_of(what)} create`")
                obj = specs_pb2.FileObject(name=name, external=True)
                if options.get("name") is not None:
                    obj.external_name = string(options["name"], where=f"{where}: name")
                    problem = rules.object_name_problem(obj.external_name)
                    if problem:
                        raise SpecError(f"{where}: name {show(obj.external_name)} {problem}")
                result.append(obj)
                continue
            if options.get("name") is not None:
                notes.warn(f"{where}: name is ignored without external: true")
            if not sources:
                raise SpecError(f'{where}: "file" is missing; write "file: PATH"')
            if "content" in options:
                data = string(options["content"], where=f"{where}: content").encode()
            elif "environment" in options:
                variable = string(options["environment"], where=f"{where}: environment")
                if variable not in environ:
                    raise SpecError(f"{where}: environment variable {variable} is not set")
                data = environ[variable].encode()
            else:
                path = string(options["file"], where=f"{where}: file")
                data = read_text(read_file, path, where=where)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        result.append(specs_pb2.FileObject(name=name, data=data))
    if problems:
        raise SpecError.many(problems)
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
    overrides: abc.Sequence[str] = (),
    profiles: abc.Collection[str] = (),
) -> LoadedApp:
    """Parse and validate a Compose file.

    ``read_file(path)`` returns the bytes of a file the Compose file names, with
    ``path`` as written there; ``default_name`` is the app name when the file has no
    ``name`` (the CLI passes the Compose file's directory name). ``base_dir``, when
    given, is the absolute directory that relative bind mounts (``./html:/srv``) are
    resolved against, as Compose does; without it they are kept as written.
    ``environ``, when given, is what `${VAR}` in values interpolates from, as Compose
    does (the CLI passes its environment over the file's `.env`); without it, `$` stays.
    ``overrides`` are the texts of further files merged over this one in order, as
    ``-f a.yaml -f b.yaml`` (and ``compose.override.yaml``) are; ``profiles`` are the
    enabled profiles. ``include`` and ``extends`` files are read through ``read_file``.
    Raises ``SpecError``, and only that, for every bad input; it carries every
    problem found, one line each.
    """
    if not isinstance(text, str):
        raise SpecError(f"expected the file's text, got {kind(text)}")
    document = load_document(text, environ=environ)
    documents = []
    warnings: list[str] = []
    for extra in overrides:
        documents.append(load_document(extra, environ=environ))
    composed = compose_files(
        document,
        documents,
        load=lambda path: load_document(
            read_text(read_file, path, where=path).decode("utf-8", "replace"), environ=environ
        ),
        profiles=profiles,
        notes_out=warnings,
    )
    return build_app(
        composed,
        read_file=read_file,
        default_name=default_name,
        base_dir=base_dir,
        environ=environ,
        warnings=warnings,
    )


def load_document(text: str, *, environ: abc.Mapping[str, str] | None) -> Mapping:
    """One Compose file's text -> its mapping, interpolated when ``environ`` is given.

    Unset variables are reported as warnings under the ``x-dockyard-unset`` key, which
    ``build_app`` removes."""
    document = parse_yaml(text)
    if document is None:
        raise SpecError('the file is empty; it needs a "services" mapping')
    if not isinstance(document, dict):
        raise SpecError(f"the top level must be a mapping, got {kind(document)}")
    for key in document:
        if not isinstance(key, str):
            raise SpecError(f"top-level key {show(key)} must be a string")
    result: Mapping = document
    if environ is not None:
        result, unset = interpolate(document, environ)
        if unset:
            result[UNSET_KEY] = unset
    return result


def build_app(
    document: Mapping,
    *,
    read_file: ReadFile,
    default_name: str,
    base_dir: str | None = None,
    environ: abc.Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
) -> LoadedApp:
    """A composed Compose document (files merged, includes, extends and profiles
    resolved) -> the validated app. Every problem is found before one ``SpecError``
    carrying them all is raised."""
    notes = Notes()
    notes.warnings.extend(warnings or [])
    unset = document.pop(UNSET_KEY, None)
    if isinstance(unset, list):
        notes.warnings.extend(unset)
    top_warnings, top_problems = triage(document, table=TOP_LEVEL, where="top level")
    notes.warnings.extend(w.removeprefix("top level: ") for w in top_warnings)
    notes.problems.extend(
        p.replace("top level: unknown key", "unknown top-level key").removeprefix("top level: ")
        for p in top_problems
    )
    spec = specs_pb2.AppSpec()
    default_max_per_node = 0
    with notes.collect():
        spec.name = _app_name(document, default_name)
    with notes.collect():
        strategy, default_max_per_node = _extension(document.get("x-dockyard"))
        spec.strategy = strategy
    with notes.collect():
        volumes = _volumes(document.get("volumes"), notes)
        spec.volume_specs.extend(volumes)
        spec.volumes.extend(volume.name for volume in volumes)
    with notes.collect():
        networks = _declarations(
            document.get("networks"), what="network", table=NETWORK, notes=notes
        )
        spec.networks.extend(networks)
    environment = environ if environ is not None else {}
    for what, target in (("secret", spec.secrets), ("config", spec.configs)):
        with notes.collect():
            target.extend(
                _file_objects(
                    document.get(f"{what}s"), what=what, read_file=read_file,
                    environ=environment, notes=notes,
                )
            )
    declared = Declared(
        volumes=frozenset(spec.volumes),
        networks=frozenset(spec.networks),
        secrets=frozenset(obj.name for obj in spec.secrets),
        configs=frozenset(obj.name for obj in spec.configs),
    )
    services: Mapping = {}
    with notes.collect():
        services = mapping(document.get("services"), where="services", allow_null=True)
        if not services:
            raise SpecError('"services" is missing or empty; an app needs at least one service')
    for name, body in services.items():
        with notes.collect():
            check_service_name(name)
        ctx = ServiceContext(name=name, read_file=read_file, declared=declared, base_dir=base_dir)
        with notes.collect():
            service = parse_service(body, ctx)
            if default_max_per_node and not service.placement.max_per_node:
                service.placement.max_per_node = default_max_per_node
            spec.services.append(service)
        notes.warnings.extend(ctx.notes.warnings)
        notes.problems.extend(ctx.notes.problems)
    notes.raise_if_any()
    notes.warnings.extend(validate_app(spec))
    # What the server checks, so it never refuses later (an unbuilt image aside).
    check_app(spec, rules.LOADER_LIMITS, stored=False)
    return LoadedApp(spec=spec, warnings=tuple(dict.fromkeys(notes.warnings)))
