"""What an apply, a `secret create` or a migration does to secrets and configs. Pure.

An app's Compose file declares secrets and configs; each becomes (or refers to) a
stored object of its own (`StoredFile`, under /dockyard/secrets/ or /dockyard/configs/):
- declared with content (`file:`, `environment:`, `content:`): the app's own object,
  named "APP/NAME", written in the apply's transaction and deleted with the app;
- declared `external: true`: an object made before with `dockyard secret create`; the
  apply is refused, naming the service, when there is none.

The app and its services keep only names, versions and digests: the content is cleared
from the spec before it is stored, so nothing that reads an app sees it. A version
counts changes of content (1 at creation); each service reference carries the version
it mounts, so a new version changes the service's spec hash and rolls it, like any
other change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dockyard.common.files import CONFIG, SECRET, command_of, object_name, references
from dockyard.common.spec.rules import DEFAULT_LIMITS, format_size
from dockyard.controlplane.desired import app_hash, service_hash
from dockyard.v1 import objects_pb2, specs_pb2

# The largest secret or config, in bytes: each is one etcd value, and the agent keeps
# every one its tasks use in memory (tmpfs). The Compose path checks the same limit.
MAX_FILE_BYTES = DEFAULT_LIMITS.file_bytes

Ref = tuple[str, str]  # (kind, stored name)


def digest(data: bytes) -> str:
    """sha256 hex of a file's content: what readers see instead of the content."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Write:
    """A new object version to store (its plaintext; the store seals a secret's)."""

    kind: str
    name: str
    app: str
    version: int
    data: bytes


@dataclass(slots=True)
class AppFiles:
    """The outcome of `plan_app`: the spec to store, and the object writes and deletes
    that go into the same transaction. `problem` set means: refuse, store nothing."""

    spec: specs_pb2.AppSpec
    writes: list[Write] = field(default_factory=list)
    deletes: list[Ref] = field(default_factory=list)
    problem: str | None = None


def declared(spec: specs_pb2.AppSpec) -> Iterable[tuple[str, specs_pb2.FileObject]]:
    for obj in spec.secrets:
        yield SECRET, obj
    for obj in spec.configs:
        yield CONFIG, obj


def refs_of(spec: specs_pb2.AppSpec) -> set[Ref]:
    """Every stored object the app's declarations stand for. Pure."""
    return {(kind, object_name(spec.name, obj)) for kind, obj in declared(spec)}


def owned_refs(spec: specs_pb2.AppSpec) -> set[Ref]:
    """The objects the app owns (declared with content). Pure."""
    return {(kind, object_name(spec.name, obj)) for kind, obj in declared(spec)
            if not obj.external}


def _users(spec: specs_pb2.AppSpec, kind: str, name: str) -> list[str]:
    return [s.name for s in spec.services
            if any(k == kind and r.source == name for k, r in references(s))]


def _where(spec: specs_pb2.AppSpec, kind: str, name: str) -> str:
    users = _users(spec, kind, name)
    return f'service "{users[0]}": ' if users else ""


def size_problem(kind: str, name: str, size: int) -> str | None:
    if size > MAX_FILE_BYTES:
        return (f'{kind} "{name}" is {format_size(size)}; a {kind} holds at most '
                f"{format_size(MAX_FILE_BYTES)}")
    return None


def plan_app(
    spec: specs_pb2.AppSpec,
    stored: Mapping[Ref, objects_pb2.StoredFile],
    *,
    previous: specs_pb2.AppSpec | None = None,
) -> AppFiles:
    """The spec to store for `spec` (content cleared, objects, versions and digests set
    on declarations and service references), the app-owned objects to write (new or
    changed content) and to delete (no longer declared; `previous` is the stored app's
    spec). `stored` holds the existing objects the app names. Pure."""
    out = specs_pb2.AppSpec()
    out.CopyFrom(spec)
    plan = AppFiles(spec=out)
    for kind, obj in declared(out):
        name = object_name(spec.name, obj)
        old = stored.get((kind, name))
        if obj.external:
            if obj.data:
                plan.problem = f'{kind} "{obj.name}" is external and has content too'
                return plan
            if old is None:
                plan.problem = (
                    f'{_where(spec, kind, obj.name)}{kind} "{obj.name}" is external, and '
                    f'there is no {kind} named "{name}": create it first with '
                    f"`dockyard {command_of(kind)} create {name} -f FILE`")
                return plan
            version, size, sha = old.version, old.size, old.digest
        elif obj.object and not obj.data:
            # A spec as the server stored it (a rollback to a kept version): the app's
            # own object as it stands now.
            if old is None:
                plan.problem = (f'{_where(spec, kind, obj.name)}{kind} "{obj.name}" is no '
                                "longer stored; apply a file instead")
                return plan
            version, size, sha = old.version, old.size, old.digest
        else:
            problem = size_problem(kind, obj.name, len(obj.data))
            if problem:
                plan.problem = _where(spec, kind, obj.name) + problem
                return plan
            sha, size = digest(obj.data), len(obj.data)
            fresh = next_version(old, obj.data)
            if fresh is None:
                version = old.version if old is not None else 1
            else:
                version = fresh
                plan.writes.append(Write(kind, name, spec.name, fresh, obj.data))
        obj.data = b""
        obj.object, obj.version, obj.digest, obj.size = name, version, sha, size
    for service in out.services:
        resolve_refs(service, out)
    if previous is not None:
        plan.deletes = sorted(owned_refs(previous) - owned_refs(out))
    return plan


def resolve_refs(service: specs_pb2.ServiceSpec, spec: specs_pb2.AppSpec) -> bool:
    """Point each of the service's references at the object and version its app's
    declaration of the same name has (declarations already resolved). True when any
    reference changed. Pure (changes `service` in place)."""
    changed = False
    by_name = {(kind, obj.name): obj for kind, obj in declared(spec)}
    for kind, ref in references(service):
        decl = by_name.get((kind, ref.source))
        if decl is not None and (ref.object, ref.version) != (decl.object, decl.version):
            ref.object, ref.version = decl.object, decl.version
            changed = True
    return changed


def users_of(services: Iterable[objects_pb2.Service], kind: str, name: str) -> list[str]:
    """"app/service" of every service that mounts the object. Pure."""
    return sorted(s.meta.id for s in services
                  if any(k == kind and r.object == name for k, r in references(s.spec)))


def roll(
    services: Iterable[objects_pb2.Service],
    apps: Iterable[objects_pb2.App],
    file: objects_pb2.StoredFile,
    *,
    now_ms: int,
) -> tuple[list[objects_pb2.Service], list[objects_pb2.App]]:
    """The services (and apps) to rewrite so that everything mounting `file` uses its
    version: each such service gets a new spec hash, so its tasks are replaced as in
    any update. Unchanged objects are left out. Pure."""
    kind, name = file.kind, file.meta.id
    changed_services = []
    for svc in services:
        new = objects_pb2.Service()
        new.CopyFrom(svc)
        touched = False
        for k, ref in references(new.spec):
            if k == kind and ref.object == name and ref.version != file.version:
                ref.version = file.version
                touched = True
        if touched:
            new.spec_hash = service_hash(new.spec)
            new.meta.updated_ms = now_ms
            changed_services.append(new)
    changed_apps = []
    for app in apps:
        new_app = objects_pb2.App()
        new_app.CopyFrom(app)
        touched = False
        for k, obj in declared(new_app.spec):
            if k == kind and obj.object == name and obj.version != file.version:
                obj.version, obj.digest, obj.size = file.version, file.digest, file.size
                touched = True
        if touched:
            new_app.spec_hash = app_hash(new_app.spec)
            new_app.meta.updated_ms = now_ms
            changed_apps.append(new_app)
    return changed_services, changed_apps


def next_version(old: objects_pb2.StoredFile | None, data: bytes) -> int | None:
    """The version new content gets: 1 for a new object, the same (None: nothing to
    write) when the content is unchanged, else one more. Pure."""
    if old is None:
        return 1
    if old.digest == digest(data):
        return None
    return old.version + 1
