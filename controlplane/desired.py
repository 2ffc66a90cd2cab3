"""What an apply changes. Pure functions of (stored services, new spec): no I/O.

An apply compares each service's spec hash with what is stored, and reports per service
whether it is created, updated, unchanged or removed. The replica count is part of the
decision but not of the hash, so scaling never looks like a new version of a service.

The file is the source of truth, as with kubectl: a re-apply sets a service that was
scaled by hand (`dockyard scale`) back to the file's replica count, and says so in the
change's detail. An apply that changes nothing reports "unchanged" for every service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dockyard.common.spec.hashing import spec_hash
from dockyard.v1 import objects_pb2, specs_pb2

# Fields of a service that no container holds, by their Compose names: how a change is
# rolled out (read from the service by the leader's updates, never from a task's copy of
# the spec) and the service's own labels. A change to them alone is stored, and no task
# is replaced. `restart_policy` is not one: the agent restarts a container by its task's
# own copy of it.
SERVICE_LEVEL_FIELDS = {"update_config": "deploy.update_config",
                        "rollback_config": "deploy.rollback_config",
                        "deploy_labels": "deploy.labels"}


def service_hash(spec: specs_pb2.ServiceSpec) -> str:
    """Hash of everything that makes a container different: the spec without replicas
    and without SERVICE_LEVEL_FIELDS. Tasks carry it; a task of another hash is outdated."""
    copy = specs_pb2.ServiceSpec()
    copy.CopyFrom(spec)
    copy.replicas = 0
    for name in SERVICE_LEVEL_FIELDS:
        copy.ClearField(name)
    return spec_hash(copy)


def settings_changed(before: specs_pb2.ServiceSpec, after: specs_pb2.ServiceSpec
                     ) -> list[str]:
    """The SERVICE_LEVEL_FIELDS that differ (set or not counts), by Compose name. Pure."""
    return [compose for name, compose in SERVICE_LEVEL_FIELDS.items()
            if _only(before, name) != _only(after, name)]


def _only(spec: specs_pb2.ServiceSpec, name: str) -> bytes:
    copy = specs_pb2.ServiceSpec()
    copy.CopyFrom(spec)
    for field in copy.DESCRIPTOR.fields:
        if field.name != name:
            copy.ClearField(field.name)
    return copy.SerializeToString(deterministic=True)


def app_hash(spec: specs_pb2.AppSpec) -> str:
    return spec_hash(spec)


@dataclass(frozen=True, slots=True)
class ServiceDiff:
    """The outcome of comparing one stored service with its new spec."""

    name: str
    action: str  # created | updated | unchanged | removed
    service: objects_pb2.Service | None  # the object to store; None when removed
    detail: str = ""  # what changed, for a person; empty when nothing more to say


def replicas_detail(*, stored: int, wanted: int, last_applied: int | None) -> str:
    """How an apply's replica change reads. Pure. `last_applied` is the count in the file
    applied before (None when unknown); when it equals the new file's count, the stored
    count can only differ because someone scaled the service by hand."""
    if stored == wanted:
        return ""
    line = f"replicas {stored} -> {wanted}"
    if last_applied == wanted:
        line += " (the file's value; it was scaled by hand)"
    return line


def diff_services(
    *,
    app: str,
    stored: Mapping[str, objects_pb2.Service],
    spec: specs_pb2.AppSpec,
    now_ms: int,
    applied: specs_pb2.AppSpec | None = None,
    rolling_back: bool = False,
) -> list[ServiceDiff]:
    """Per service of `spec` (in file order), then per stored service it no longer has.
    `applied` is the app's spec as last applied (None for a first apply): it tells a
    count scaled by hand from a count changed in the file. A service whose spec changes
    keeps the one it had as `previous_spec` (what a failed update rolls back to) and
    starts an update (`rolling_back`: a rollback, paced by its rollback_config). Pure."""
    last = {s.name: s.replicas for s in applied.services} if applied is not None else {}
    diffs: list[ServiceDiff] = []
    for svc_spec in spec.services:
        old = stored.get(svc_spec.name)
        new = objects_pb2.Service(app=app, spec=svc_spec, spec_hash=service_hash(svc_spec))
        new.meta.id = f"{app}/{svc_spec.name}"
        new.meta.created_ms = old.meta.created_ms if old is not None else now_ms
        new.meta.updated_ms = now_ms
        if old is None:
            diffs.append(ServiceDiff(svc_spec.name, "created", new))
        elif old.spec_hash != new.spec_hash or old.spec != svc_spec:
            new.status.CopyFrom(old.status)
            _carry_update(old, new, now_ms=now_ms, rolling_back=rolling_back)
            parts = ["new spec"] if old.spec_hash != new.spec_hash else []
            parts.append(replicas_detail(stored=old.spec.replicas, wanted=svc_spec.replicas,
                                         last_applied=last.get(svc_spec.name)))
            if old.spec_hash == new.spec_hash:
                settings = settings_changed(old.spec, svc_spec)
                if settings:
                    parts.append(f"{', '.join(settings)} changed (running tasks kept)")
            detail = ", ".join(p for p in parts if p)
            diffs.append(ServiceDiff(svc_spec.name, "updated", new, detail))
        else:
            diffs.append(ServiceDiff(svc_spec.name, "unchanged", None))
    names = {s.name for s in spec.services}
    for name in sorted(set(stored) - names):
        diffs.append(ServiceDiff(name, "removed", None))
    return diffs


def _carry_update(old: objects_pb2.Service, new: objects_pb2.Service, *, now_ms: int,
                  rolling_back: bool) -> None:
    """A new spec starts an update from the stored one; a new count alone keeps the
    update where it stands. Pure (fills `new`)."""
    if old.spec_hash == new.spec_hash:
        if old.HasField("previous_spec"):
            new.previous_spec.CopyFrom(old.previous_spec)
        new.update.CopyFrom(old.update)
        return
    new.previous_spec.CopyFrom(old.spec)
    new.update.CopyFrom(objects_pb2.UpdateStatus(
        state=objects_pb2.ROLLING_BACK if rolling_back else objects_pb2.UPDATING,
        started_ms=now_ms))
