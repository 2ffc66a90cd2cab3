"""A task's container identity, whatever the runtime: name, labels, environment. Pure.

Every container carries labels under `io.dockyard.` (app, service, slot, task id, spec
hash, node) so that a restarted agent finds and re-adopts exactly the containers it owns.
Runtimes put these on the container in their own way (`agent/runtime/*`).
"""

from __future__ import annotations

from dockyard.v1 import objects_pb2, specs_pb2

LABEL = "io.dockyard."
TASK_LABEL = LABEL + "task-id"
NODE_LABEL = LABEL + "node"
SPEC_HASH_LABEL = LABEL + "spec-hash"


def container_name(task: objects_pb2.Task) -> str:
    return f"{task.app}.{task.service}.{task.slot}.{task.meta.id}"


def labels_for(task: objects_pb2.Task, node: str) -> dict[str, str]:
    """The user's labels plus Dockyard's, which the user cannot override."""
    out = dict(task.spec.labels)
    out.update({
        LABEL + "app": task.app,
        LABEL + "service": task.service,
        LABEL + "slot": str(task.slot),
        TASK_LABEL: task.meta.id,
        SPEC_HASH_LABEL: task.spec_hash,
        NODE_LABEL: node,
    })
    return out


def environment_for(task: objects_pb2.Task, node: str) -> dict[str, str]:
    """The user's environment plus where the container runs."""
    return {
        **dict(task.spec.environment),
        "DOCKYARD_NODE": node,
        "DOCKYARD_APP": task.app,
        "DOCKYARD_SERVICE": task.service,
        "DOCKYARD_SLOT": str(task.slot),
    }


def hostname_for(task: objects_pb2.Task) -> str:
    return task.spec.hostname or f"{task.service}-{task.slot}"


def stop_timeout_s(spec: specs_pb2.ServiceSpec) -> int:
    return max(0, round(spec.stop_grace_period_ms / 1000)) if spec.stop_grace_period_ms else 10


VOLUME_LABEL = LABEL + "volume"


def volume_name(task: objects_pb2.Task, source: str) -> str:
    """The engine's name of a task's named volume: its `name:` in the file when it has
    one (an external volume's own name), else `<app>_<key>`, as Compose names it."""
    for spec in task.volumes:
        if spec.name == source:
            if spec.engine_name:
                return spec.engine_name
            if spec.external:
                return source
    return f"{task.app}_{source}"


def volume_labels(task: objects_pb2.Task, spec: specs_pb2.VolumeSpec) -> dict[str, str]:
    """The user's labels of a volume plus Dockyard's, by which `delete --volumes` knows it."""
    return {**dict(spec.labels), LABEL + "app": task.app, VOLUME_LABEL: spec.name}
