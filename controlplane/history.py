"""An app's kept versions: what each apply changed, and which version to roll back to.
Pure functions: the Control API does the reading and writing.

Every apply or rollback that changes an app's spec writes a new `AppVersion` in the same
etcd transaction as the app (`/dockyard/history/<app>/<number>`), and deletes the one
KEPT versions older, so an app never holds more than KEPT of them (docs/limits.md). A
version keeps the whole spec but not the contents of secrets and configs (they are not
copied around etcd once more); a rollback takes those, by name, from the app as it
stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dockyard.common.spec.errors import show
from dockyard.controlplane.desired import service_hash
from dockyard.v1 import objects_pb2, specs_pb2

KEPT = 10


def kept_spec(spec: specs_pb2.AppSpec) -> specs_pb2.AppSpec:
    """The spec as a version keeps it: secret and config contents left out. Pure."""
    copy = specs_pb2.AppSpec()
    copy.CopyFrom(spec)
    for obj in (*copy.secrets, *copy.configs):
        obj.data = b""
    return copy


def restore_files(
    version: specs_pb2.AppSpec, current: specs_pb2.AppSpec | None
) -> tuple[specs_pb2.AppSpec, str | None]:
    """A kept version's spec with its secret and config contents taken from the app as
    it stands, by name; or a one-line problem when one of them is gone. Pure."""
    spec = specs_pb2.AppSpec()
    spec.CopyFrom(version)
    have: dict[tuple[str, str], bytes] = {}
    if current is not None:
        have.update({("secret", o.name): o.data for o in current.secrets})
        have.update({("config", o.name): o.data for o in current.configs})
    for what, objects in (("secret", spec.secrets), ("config", spec.configs)):
        for obj in objects:
            data = have.get((what, obj.name))
            if data is None:
                return spec, (f"that version uses {what} {show(obj.name)}, which the app no "
                              "longer has; apply a file instead")
            obj.data = data
    return spec, None


def dropped_version(number: int) -> int:
    """The version that leaves the history when `number` is written (0: none). Pure."""
    return max(0, number - KEPT)


def kept_numbers(latest: int) -> range:
    """The version numbers an app whose latest version is `latest` may hold. Pure."""
    return range(max(1, latest - KEPT + 1), latest + 1)


def rollback_target(
    versions: Sequence[objects_pb2.AppVersion], *, app: str, latest: int, to: int
) -> objects_pb2.AppVersion | str:
    """The version `rollback --to` names (0: the one before the latest), or why there is
    none, in one line. Pure."""
    by_number = {v.number: v for v in versions}
    if not versions:
        return f"app {show(app)} has no kept versions to roll back to"
    kept = f"kept: {min(by_number)}-{max(by_number)}"
    if to == 0:
        earlier = [n for n in by_number if n < latest]
        if not earlier:
            return f"app {show(app)} has no version before {latest} ({kept})"
        to = max(earlier)
    if to not in by_number:
        return f"app {show(app)} has no version {to} ({kept})"
    return by_number[to]


def current_version(
    versions: Sequence[objects_pb2.AppVersion], services: Mapping[str, str]
) -> int:
    """The newest version whose services are exactly the ones stored now (`services`:
    name -> spec hash); 0 when none is (one service rolled back by itself). Pure."""
    for v in sorted(versions, key=lambda v: -v.number):
        if {s.name: service_hash(s) for s in v.spec.services} == dict(services):
            return v.number
    return 0


def version_changes(
    before: specs_pb2.AppSpec | None, after: specs_pb2.AppSpec
) -> list[str]:
    """What changed from `before` to `after`, one line each, for a person. Pure."""
    if before is None:
        return [f"{s.name} created ({s.image})" for s in after.services]
    old = {s.name: s for s in before.services}
    lines: list[str] = []
    for s in after.services:
        was = old.get(s.name)
        if was is None:
            lines.append(f"{s.name} created ({s.image})")
        elif was != s:
            lines.append(f"{s.name} updated: {service_changes(was, s)}")
    names = {s.name for s in after.services}
    lines += [f"{name} removed" for name in old if name not in names]
    app_fields = _changed_fields(_without_services(before), _without_services(after))
    if app_fields:
        lines.append("app: " + ", ".join(app_fields) + " changed")
    return lines or ["nothing but secret or config contents"]


def service_changes(before: specs_pb2.ServiceSpec, after: specs_pb2.ServiceSpec) -> str:
    """"image a -> b, replicas 2 -> 3, command, environment changed". Pure."""
    parts = []
    if before.image != after.image:
        parts.append(f"image {before.image} -> {after.image}")
    if before.replicas != after.replicas:
        parts.append(f"replicas {before.replicas} -> {after.replicas}")
    rest = [f for f in _changed_fields(before, after) if f not in ("image", "replicas")]
    if rest:
        parts.append(", ".join(rest) + " changed")
    return ", ".join(parts)


def _without_services(spec: specs_pb2.AppSpec) -> specs_pb2.AppSpec:
    copy = specs_pb2.AppSpec()
    copy.CopyFrom(spec)
    del copy.services[:]
    return copy


def _changed_fields(a: object, b: object) -> list[str]:
    """Names of the top-level fields that differ between two messages of one type."""
    fields = type(a).DESCRIPTOR.fields  # type: ignore[attr-defined]
    return [f.name for f in fields if getattr(a, f.name) != getattr(b, f.name)]
