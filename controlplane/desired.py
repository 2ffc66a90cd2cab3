"""What an apply changes. Pure functions of (stored services, new spec): no I/O.

An apply compares each service's spec hash with what is stored, and reports per service
whether it is created, updated, unchanged or removed. The replica count is part of the
decision but not of the hash, so scaling never looks like a new version of a service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.store.codec import digest
from dockyard.v1 import objects_pb2, specs_pb2


def service_hash(spec: specs_pb2.ServiceSpec) -> str:
    """Hash of everything that makes a container different: the spec without replicas."""
    copy = specs_pb2.ServiceSpec()
    copy.CopyFrom(spec)
    copy.replicas = 0
    return digest(copy)


def app_hash(spec: specs_pb2.AppSpec) -> str:
    return digest(spec)


@dataclass(frozen=True, slots=True)
class ServiceDiff:
    """The outcome of comparing one stored service with its new spec."""

    name: str
    action: str  # created | updated | unchanged | removed
    service: objects_pb2.Service | None  # the object to store; None when removed


def diff_services(
    *,
    app: str,
    stored: Mapping[str, objects_pb2.Service],
    spec: specs_pb2.AppSpec,
    now_ms: int,
) -> list[ServiceDiff]:
    """Per service of `spec` (in file order), then per stored service it no longer has."""
    diffs: list[ServiceDiff] = []
    for svc_spec in spec.services:
        old = stored.get(svc_spec.name)
        new = objects_pb2.Service(app=app, spec=svc_spec, spec_hash=service_hash(svc_spec))
        new.meta.id = f"{app}/{svc_spec.name}"
        new.meta.created_ms = old.meta.created_ms if old is not None else now_ms
        new.meta.updated_ms = now_ms
        if old is None:
            diffs.append(ServiceDiff(svc_spec.name, "created", new))
        elif old.spec_hash != new.spec_hash or old.spec.replicas != svc_spec.replicas:
            new.status.CopyFrom(old.status)
            diffs.append(ServiceDiff(svc_spec.name, "updated", new))
        else:
            diffs.append(ServiceDiff(svc_spec.name, "unchanged", None))
    names = {s.name for s in spec.services}
    for name in sorted(set(stored) - names):
        diffs.append(ServiceDiff(name, "removed", None))
    return diffs
