"""Several Compose files -> one document: ``-f`` overrides, ``include``, ``extends`` and
``profiles``, resolved the way Compose does before any key is checked.

Why here, before parsing: each of these is a rewrite of the YAML tree (merge two
mappings, copy a service, drop a service), so the parsers downstream see one plain
document and need not know where a key came from.

Merging follows Compose: mappings merge key by key, scalars are replaced; ``ports``,
``expose``, ``dns``, ``cap_add`` and other list keys are appended without repeats;
``environment``, ``labels`` and other key/value keys merge by name; ``volumes`` merge
by container path, ``secrets``/``configs`` by source; ``command``, ``entrypoint`` and
the healthcheck test are replaced. Paths in a file that another file includes or
extends are relative to that file's folder, so they are rebased. Pure: files are read
through the injected ``load``.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable, Collection, Sequence
from typing import Any

from dockyard.common.spec.errors import SpecError, show

Document = dict[str, Any]
Load = Callable[[str], Document]

# Nested files (include within include, extends across files) stop at this depth, and
# one app reads at most this many other files (each at most 1 MiB).
MAX_DEPTH = 10
MAX_FILES = 100

_APPEND = {
    "ports", "expose", "dns", "dns_search", "dns_opt", "tmpfs", "cap_add", "cap_drop",
    "security_opt", "external_links", "links", "env_file", "label_file", "profiles",
    "devices", "device_cgroup_rules", "group_add",
}  # fmt: skip
_BY_NAME = {
    "environment", "labels", "sysctls", "extra_hosts", "annotations", "build.args",
    "build.labels", "deploy.labels", "logging.options", "ulimits",
}  # fmt: skip
_KEYED_LISTS = {"volumes": "target", "secrets": "source", "configs": "source"}
_SECTIONS = ("services", "volumes", "networks", "secrets", "configs")
# Where each file's warnings about unset variables travel until build_app reports them.
UNSET_KEY = "x-dockyard-unset"


def _as_dict(value: Any, *, colon: bool = False) -> dict[str, Any] | None:
    """``["A=1", "B"]`` or ``{A: 1}`` -> a dict; ``None`` when it is neither."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, str | int | float):
                return None
            key, sep, val = str(item).partition("=")
            if colon and not sep and ":" in key:  # extra_hosts' HOST:IP
                key, _, val = key.partition(":")
                sep = "="
            out[key] = val if sep else None
        return out
    return None


def _keyed(item: Any, field: str) -> Any:
    if isinstance(item, dict):
        return item.get(field)
    if isinstance(item, str):
        parts = item.split(":")
        if field == "target":
            return parts[1] if len(parts) > 1 else parts[0]
        return parts[0]
    return None


def _merge(path: str, base: Any, over: Any) -> Any:
    """Merge ``over`` onto ``base`` at ``path`` (dotted, relative to a service). Pure."""
    if path in _APPEND and isinstance(base, list) and isinstance(over, list):
        out = list(base)
        for item in over:
            if item not in out:
                out.append(item)
        return out
    if path in _BY_NAME:
        colon = path == "extra_hosts"
        left, right = _as_dict(base, colon=colon), _as_dict(over, colon=colon)
        if left is not None and right is not None:
            return {**left, **right}
    if path in _KEYED_LISTS and isinstance(base, list) and isinstance(over, list):
        field = _KEYED_LISTS[path]
        merged: dict[Any, Any] = {}
        for item in [*base, *over]:
            key = _keyed(item, field)
            merged[key if key is not None else id(item)] = item
        return list(merged.values())
    if path in ("depends_on", "networks"):
        left, right = _as_list_or_dict(base), _as_list_or_dict(over)
        if left is not None and right is not None:
            return {**left, **right}
    if path == "build":
        base = {"context": base} if isinstance(base, str) else base
        over = {"context": over} if isinstance(over, str) else over
    if isinstance(base, dict) and isinstance(over, dict):
        out_map = dict(base)
        for key, value in over.items():
            child = f"{path}.{key}" if path else key
            out_map[key] = _merge(child, base[key], value) if key in base else value
        return out_map
    return over


def _as_list_or_dict(value: Any) -> dict[str, Any] | None:
    """depends_on/networks: a list of names -> {name: None}; a mapping as it is."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return dict.fromkeys(value)
    if isinstance(value, dict):
        return dict(value)
    return None


def merge_documents(base: Document, over: Document) -> Document:
    """``over`` (a later ``-f`` file) merged onto ``base``. Pure."""
    out = dict(base)
    for key, value in over.items():
        if key == UNSET_KEY and isinstance(out.get(key), list) and isinstance(value, list):
            out[key] = [*out[key], *value]
        elif key in _SECTIONS and isinstance(out.get(key), dict) and isinstance(value, dict):
            section = dict(out[key])
            for name, body in value.items():
                if name in section:
                    path = "" if key == "services" else "object"
                    section[name] = _merge(path, section[name], body)
                else:
                    section[name] = body
            out[key] = section
        else:
            out[key] = value
    return out


def _rebase(path: Any, folder: str) -> Any:
    if not folder or not isinstance(path, str) or path.startswith(("/", "~")) or "://" in path:
        return path
    return posixpath.normpath(posixpath.join(folder, path))


def _rebase_bind(source: str, folder: str) -> str:
    """A relative bind source keeps its leading ``./``, which marks it as a path."""
    rebased = _rebase(source, folder)
    return rebased if rebased.startswith((".", "/")) else f"./{rebased}"


def _rebase_volume(item: Any, folder: str) -> Any:
    if isinstance(item, str):
        source, sep, rest = item.partition(":")
        if sep and source.startswith("."):
            return f"{_rebase_bind(source, folder)}:{rest}"
        return item
    if isinstance(item, dict) and item.get("type") == "bind":
        bind_source = item.get("source")
        if isinstance(bind_source, str) and bind_source.startswith("."):
            return {**item, "source": _rebase_bind(bind_source, folder)}
    return item


def rebase_service(body: Any, folder: str) -> Any:
    """A service from a file in ``folder`` with its relative paths made relative to
    the main file's folder. Pure."""
    if not folder or not isinstance(body, dict):
        return body
    out = dict(body)
    if isinstance(out.get("build"), str):
        out["build"] = _rebase(out["build"], folder)
    elif isinstance(out.get("build"), dict):
        context = _rebase(out["build"].get("context", "."), folder)
        out["build"] = {**out["build"], "context": context}
    for key in ("env_file", "label_file"):
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [
                {**v, "path": _rebase(v.get("path"), folder)} if isinstance(v, dict)
                else _rebase(v, folder) for v in value
            ]  # fmt: skip
        elif value is not None:
            out[key] = _rebase(value, folder)
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_rebase_volume(item, folder) for item in out["volumes"]]
    if isinstance(out.get("extends"), dict) and "file" in out["extends"]:
        out["extends"] = {**out["extends"], "file": _rebase(out["extends"]["file"], folder)}
    return out


def _rebase_document(document: Document, folder: str) -> Document:
    out = dict(document)
    if isinstance(out.get("services"), dict):
        out["services"] = {n: rebase_service(b, folder) for n, b in out["services"].items()}
    for section in ("secrets", "configs"):
        if isinstance(out.get(section), dict):
            out[section] = {
                name: {**body, "file": _rebase(body["file"], folder)}
                if isinstance(body, dict) and "file" in body else body
                for name, body in out[section].items()
            }  # fmt: skip
    if isinstance(out.get("include"), list):
        out["include"] = [
            _rebase(item, folder) if isinstance(item, str) else item for item in out["include"]
        ]
    return out


def _include_paths(item: Any, *, where: str) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict):
        unknown = set(item) - {"path", "project_directory", "env_file"}
        if unknown:
            raise SpecError(f"{where}: unknown key {show(sorted(unknown)[0])}")
        paths = item.get("path")
        if isinstance(paths, str):
            return [paths]
        if isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths):
            return list(paths)
        raise SpecError(f'{where}: "path" must be a file or a list of files')
    raise SpecError(f"{where}: expected a path or a mapping with path")


def _resolve_includes(document: Document, load: Load, depth: int) -> Document:
    includes = document.pop("include", None)
    if includes is None:
        return document
    if not isinstance(includes, list):
        raise SpecError("include: expected a list of files")
    if depth >= MAX_DEPTH:
        raise SpecError(f"include: files include each other more than {MAX_DEPTH} deep")
    for index, item in enumerate(includes):
        where = f"include[{index}]"
        paths = _include_paths(item, where=where)
        included: Document = {}
        for path in paths:
            loaded = _rebase_document(load(path), posixpath.dirname(path))
            included = merge_documents(included, loaded) if included else loaded
        included = _resolve_includes(included, load, depth + 1)
        for section in _SECTIONS:
            theirs = included.get(section)
            if not isinstance(theirs, dict):
                continue
            ours = document.get(section)
            ours = dict(ours) if isinstance(ours, dict) else {}
            for name, body in theirs.items():
                if name in ours and ours[name] != body:
                    raise SpecError(
                        f"{where}: {section[:-1]} {show(name)} from {show(paths[0])} is also "
                        "defined in the including file"
                    )
                ours[name] = body
            document[section] = ours
    return document


def _extends_target(value: Any, *, where: str) -> tuple[str, str | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        unknown = set(value) - {"service", "file"}
        if unknown or not isinstance(value.get("service"), str):
            raise SpecError(f'{where}: expected a service name or {{service: NAME, file: PATH}}')
        file = value.get("file")
        if file is not None and not isinstance(file, str):
            raise SpecError(f"{where}.file: expected a path")
        return value["service"], file
    raise SpecError(f"{where}: expected a service name or {{service: NAME, file: PATH}}")


def _extended(
    name: str, services: dict[str, Any], file: str, load: Load, seen: tuple[str, ...]
) -> Any:
    """The service ``name`` of ``services`` with its own ``extends`` resolved."""
    key = f"{file}:{name}"
    if key in seen or len(seen) > MAX_DEPTH:
        chain = " -> ".join(s.rpartition(":")[2] for s in (*seen, key))
        raise SpecError(f"service {show(seen[0].rpartition(':')[2])}: extends loops: {chain}")
    body = services.get(name)
    if not isinstance(body, dict):
        where = f"in {show(file)}" if file else "in this file"
        raise SpecError(f"service {show(name)} to extend is not defined {where}")
    if "extends" not in body:
        return body
    where = f"service {show(name)}: extends"
    target, target_file = _extends_target(body["extends"], where=where)
    if target_file is None:
        base = _extended(target, services, file, load, (*seen, key))
    else:
        other = load(target_file)
        other_services = other.get("services")
        if not isinstance(other_services, dict):
            raise SpecError(f"{where}: {show(target_file)} has no services")
        folder = posixpath.dirname(target_file)
        rebased = {n: rebase_service(b, folder) for n, b in other_services.items()}
        base = _extended(target, rebased, target_file, load, (*seen, key))
    own = {k: v for k, v in body.items() if k != "extends"}
    base = {k: v for k, v in base.items() if k not in ("depends_on", "volumes_from")}
    merged = _merge("", copy.deepcopy(base), own)
    return merged


def _resolve_extends(document: Document, load: Load) -> Document:
    services = document.get("services")
    if not isinstance(services, dict):
        return document
    problems: list[str] = []
    out = {}
    for name, body in services.items():
        try:
            out[name] = _extended(name, services, "", load, ()) if isinstance(body, dict) else body
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError.many(problems)
    return {**document, "services": out}


def _profiles_of(body: Any, *, name: str) -> list[str]:
    value = body.get("profiles") if isinstance(body, dict) else None
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return value
    raise SpecError(f"service {show(name)}: profiles: expected a list of names")


def apply_profiles(document: Document, profiles: Collection[str]) -> Document:
    """Keep the services with no profile or an enabled one (``*`` enables all). Pure."""
    services = document.get("services")
    if not isinstance(services, dict):
        return document
    enabled = set(profiles)
    kept: dict[str, Any] = {}
    dropped: dict[str, list[str]] = {}
    for name, body in services.items():
        own = _profiles_of(body, name=name)
        if not own or "*" in enabled or enabled & set(own):
            kept[name] = body
        else:
            dropped[name] = own
    problems = []
    for name, body in kept.items():
        depends = body.get("depends_on") if isinstance(body, dict) else None
        names = list(depends) if isinstance(depends, list | dict) else []
        for other in names:
            if isinstance(other, str) and other in dropped:
                flags = " ".join(f"--profile {p}" for p in dropped[other][:1])
                problems.append(
                    f"service {show(name)}: depends_on names {show(other)}, which is only in "
                    f"profile {show(dropped[other][0])}; enable it with {flags}"
                )
    if problems:
        raise SpecError.many(problems)
    return {**document, "services": kept}


def compose_files(
    document: Document,
    overrides: Sequence[Document],
    *,
    load: Load,
    profiles: Collection[str],
    notes_out: list[str],
) -> Document:
    """The main file with ``overrides`` merged in order, then includes, extends and
    profiles resolved. ``load(path)`` returns another file's interpolated mapping.
    ``notes_out`` receives warnings. Pure apart from ``load``."""
    count = 0
    read_one = load

    def bounded(path: str) -> Document:
        nonlocal count
        count += 1
        if count > MAX_FILES:
            raise SpecError(
                f"include/extends read more than {MAX_FILES} files; {show(path)} is one too many"
            )
        return read_one(path)

    merged = document
    for over in overrides:
        merged = merge_documents(merged, over)
    merged = _resolve_includes(merged, bounded, 0)
    merged = _resolve_extends(merged, bounded)
    if profiles and isinstance(merged.get("services"), dict):
        known = {p for b in merged["services"].values() for p in _profiles_of(b, name="?")}
        for profile in sorted(set(profiles) - known - {"*"}):
            notes_out.append(f"profile {show(profile)} is not used by any service")
    return apply_profiles(merged, profiles)
