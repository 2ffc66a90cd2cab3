from dockyard.v1 import specs_pb2 as _specs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdateState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPDATE_STATE_UNSPECIFIED: _ClassVar[UpdateState]
    UPDATING: _ClassVar[UpdateState]
    UPDATE_COMPLETED: _ClassVar[UpdateState]
    UPDATE_PAUSED: _ClassVar[UpdateState]
    ROLLING_BACK: _ClassVar[UpdateState]
    ROLLED_BACK: _ClassVar[UpdateState]
    ROLLBACK_PAUSED: _ClassVar[UpdateState]

class DesiredState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIRED_STATE_UNSPECIFIED: _ClassVar[DesiredState]
    DESIRED_READY: _ClassVar[DesiredState]
    DESIRED_RUNNING: _ClassVar[DesiredState]
    DESIRED_SHUTDOWN: _ClassVar[DesiredState]
    DESIRED_REMOVE: _ClassVar[DesiredState]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    PENDING: _ClassVar[TaskState]
    ASSIGNED: _ClassVar[TaskState]
    PREPARING: _ClassVar[TaskState]
    READY: _ClassVar[TaskState]
    STARTING: _ClassVar[TaskState]
    RUNNING: _ClassVar[TaskState]
    COMPLETE: _ClassVar[TaskState]
    FAILED: _ClassVar[TaskState]
    SHUTDOWN: _ClassVar[TaskState]
    ORPHANED: _ClassVar[TaskState]

class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_NONE: _ClassVar[Health]
    HEALTH_STARTING: _ClassVar[Health]
    HEALTH_HEALTHY: _ClassVar[Health]
    HEALTH_UNHEALTHY: _ClassVar[Health]

class Availability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AVAILABILITY_UNSPECIFIED: _ClassVar[Availability]
    ACTIVE: _ClassVar[Availability]
    DRAIN: _ClassVar[Availability]

class NodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATE_UNSPECIFIED: _ClassVar[NodeState]
    NODE_READY: _ClassVar[NodeState]
    NODE_DOWN: _ClassVar[NodeState]
UPDATE_STATE_UNSPECIFIED: UpdateState
UPDATING: UpdateState
UPDATE_COMPLETED: UpdateState
UPDATE_PAUSED: UpdateState
ROLLING_BACK: UpdateState
ROLLED_BACK: UpdateState
ROLLBACK_PAUSED: UpdateState
DESIRED_STATE_UNSPECIFIED: DesiredState
DESIRED_READY: DesiredState
DESIRED_RUNNING: DesiredState
DESIRED_SHUTDOWN: DesiredState
DESIRED_REMOVE: DesiredState
TASK_STATE_UNSPECIFIED: TaskState
PENDING: TaskState
ASSIGNED: TaskState
PREPARING: TaskState
READY: TaskState
STARTING: TaskState
RUNNING: TaskState
COMPLETE: TaskState
FAILED: TaskState
SHUTDOWN: TaskState
ORPHANED: TaskState
HEALTH_NONE: Health
HEALTH_STARTING: Health
HEALTH_HEALTHY: Health
HEALTH_UNHEALTHY: Health
AVAILABILITY_UNSPECIFIED: Availability
ACTIVE: Availability
DRAIN: Availability
NODE_STATE_UNSPECIFIED: NodeState
NODE_READY: NodeState
NODE_DOWN: NodeState

class Meta(_message.Message):
    __slots__ = ("id", "version", "created_ms", "updated_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    created_ms: int
    updated_ms: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., created_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class App(_message.Message):
    __slots__ = ("meta", "spec", "spec_hash", "version")
    META_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    spec: _specs_pb2.AppSpec
    spec_hash: str
    version: int
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., spec: _Optional[_Union[_specs_pb2.AppSpec, _Mapping]] = ..., spec_hash: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("meta", "app", "spec", "spec_hash", "status", "previous_spec", "update")
    META_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SPEC_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    app: str
    spec: _specs_pb2.ServiceSpec
    spec_hash: str
    status: ServiceStatus
    previous_spec: _specs_pb2.ServiceSpec
    update: UpdateStatus
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., app: _Optional[str] = ..., spec: _Optional[_Union[_specs_pb2.ServiceSpec, _Mapping]] = ..., spec_hash: _Optional[str] = ..., status: _Optional[_Union[ServiceStatus, _Mapping]] = ..., previous_spec: _Optional[_Union[_specs_pb2.ServiceSpec, _Mapping]] = ..., update: _Optional[_Union[UpdateStatus, _Mapping]] = ...) -> None: ...

class UpdateStatus(_message.Message):
    __slots__ = ("state", "started_ms", "finished_ms", "message", "failed_hash")
    STATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FAILED_HASH_FIELD_NUMBER: _ClassVar[int]
    state: UpdateState
    started_ms: int
    finished_ms: int
    message: str
    failed_hash: str
    def __init__(self, state: _Optional[_Union[UpdateState, str]] = ..., started_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ..., message: _Optional[str] = ..., failed_hash: _Optional[str] = ...) -> None: ...

class ServiceStatus(_message.Message):
    __slots__ = ("running", "healthy", "waiting_on")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    WAITING_ON_FIELD_NUMBER: _ClassVar[int]
    running: int
    healthy: int
    waiting_on: str
    def __init__(self, running: _Optional[int] = ..., healthy: _Optional[int] = ..., waiting_on: _Optional[str] = ...) -> None: ...

class TaskStatus(_message.Message):
    __slots__ = ("state", "health", "container_id", "exit_code", "message", "timestamp_ms", "started_ms", "healthy_ms", "finished_ms", "restarts", "failing_streak", "address")
    STATE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    FAILING_STREAK_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    state: TaskState
    health: Health
    container_id: str
    exit_code: int
    message: str
    timestamp_ms: int
    started_ms: int
    healthy_ms: int
    finished_ms: int
    restarts: int
    failing_streak: int
    address: str
    def __init__(self, state: _Optional[_Union[TaskState, str]] = ..., health: _Optional[_Union[Health, str]] = ..., container_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., message: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., started_ms: _Optional[int] = ..., healthy_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ..., restarts: _Optional[int] = ..., failing_streak: _Optional[int] = ..., address: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("meta", "app", "service", "slot", "spec", "spec_hash", "node", "desired_state", "status", "unplaced_reason", "network", "volumes")
    META_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UNPLACED_REASON_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    app: str
    service: str
    slot: int
    spec: _specs_pb2.ServiceSpec
    spec_hash: str
    node: str
    desired_state: DesiredState
    status: TaskStatus
    unplaced_reason: str
    network: str
    volumes: _containers.RepeatedCompositeFieldContainer[_specs_pb2.VolumeSpec]
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., app: _Optional[str] = ..., service: _Optional[str] = ..., slot: _Optional[int] = ..., spec: _Optional[_Union[_specs_pb2.ServiceSpec, _Mapping]] = ..., spec_hash: _Optional[str] = ..., node: _Optional[str] = ..., desired_state: _Optional[_Union[DesiredState, str]] = ..., status: _Optional[_Union[TaskStatus, _Mapping]] = ..., unplaced_reason: _Optional[str] = ..., network: _Optional[str] = ..., volumes: _Optional[_Iterable[_Union[_specs_pb2.VolumeSpec, _Mapping]]] = ...) -> None: ...

class NodeDescription(_message.Message):
    __slots__ = ("name", "address", "capacity", "labels", "engine_version", "container_subnet", "architecture")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_SUBNET_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    capacity: _specs_pb2.Resources
    labels: _containers.ScalarMap[str, str]
    engine_version: str
    container_subnet: str
    architecture: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., capacity: _Optional[_Union[_specs_pb2.Resources, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., engine_version: _Optional[str] = ..., container_subnet: _Optional[str] = ..., architecture: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("meta", "description", "availability", "state", "last_heartbeat_ms", "allocated", "message", "subnet", "join_key_sha256", "down_since_ms", "drain_force")
    META_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    JOIN_KEY_SHA256_FIELD_NUMBER: _ClassVar[int]
    DOWN_SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FORCE_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    description: NodeDescription
    availability: Availability
    state: NodeState
    last_heartbeat_ms: int
    allocated: _specs_pb2.Resources
    message: str
    subnet: str
    join_key_sha256: str
    down_since_ms: int
    drain_force: bool
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., description: _Optional[_Union[NodeDescription, _Mapping]] = ..., availability: _Optional[_Union[Availability, str]] = ..., state: _Optional[_Union[NodeState, str]] = ..., last_heartbeat_ms: _Optional[int] = ..., allocated: _Optional[_Union[_specs_pb2.Resources, _Mapping]] = ..., message: _Optional[str] = ..., subnet: _Optional[str] = ..., join_key_sha256: _Optional[str] = ..., down_since_ms: _Optional[int] = ..., drain_force: _Optional[bool] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp_ms", "kind", "object", "message", "app")
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    timestamp_ms: int
    kind: str
    object: str
    message: str
    app: str
    def __init__(self, timestamp_ms: _Optional[int] = ..., kind: _Optional[str] = ..., object: _Optional[str] = ..., message: _Optional[str] = ..., app: _Optional[str] = ...) -> None: ...

class AppVersion(_message.Message):
    __slots__ = ("number", "applied_ms", "spec", "spec_hash", "changes", "source", "allow")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    APPLIED_MS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    number: int
    applied_ms: int
    spec: _specs_pb2.AppSpec
    spec_hash: str
    changes: _containers.RepeatedScalarFieldContainer[str]
    source: str
    allow: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, number: _Optional[int] = ..., applied_ms: _Optional[int] = ..., spec: _Optional[_Union[_specs_pb2.AppSpec, _Mapping]] = ..., spec_hash: _Optional[str] = ..., changes: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ..., allow: _Optional[_Iterable[str]] = ...) -> None: ...

class StoredFile(_message.Message):
    __slots__ = ("meta", "kind", "app", "version", "digest", "size", "data")
    META_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    kind: str
    app: str
    version: int
    digest: str
    size: int
    data: bytes
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., kind: _Optional[str] = ..., app: _Optional[str] = ..., version: _Optional[int] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ("meta", "app", "name", "node", "first_used_ms", "first_task", "remove_from", "engine_name")
    META_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    FIRST_USED_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TASK_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FROM_FIELD_NUMBER: _ClassVar[int]
    ENGINE_NAME_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    app: str
    name: str
    node: str
    first_used_ms: int
    first_task: str
    remove_from: _containers.RepeatedScalarFieldContainer[str]
    engine_name: str
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., app: _Optional[str] = ..., name: _Optional[str] = ..., node: _Optional[str] = ..., first_used_ms: _Optional[int] = ..., first_task: _Optional[str] = ..., remove_from: _Optional[_Iterable[str]] = ..., engine_name: _Optional[str] = ...) -> None: ...
