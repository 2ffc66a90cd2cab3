from dockyard.v1 import objects_pb2 as _objects_pb2
from dockyard.v1 import specs_pb2 as _specs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JoinTokenRequest(_message.Message):
    __slots__ = ("role", "rotate")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ROTATE_FIELD_NUMBER: _ClassVar[int]
    role: str
    rotate: bool
    def __init__(self, role: _Optional[str] = ..., rotate: _Optional[bool] = ...) -> None: ...

class JoinTokenResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("spec", "allow", "dry_run")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    spec: _specs_pb2.AppSpec
    allow: _containers.RepeatedScalarFieldContainer[str]
    dry_run: bool
    def __init__(self, spec: _Optional[_Union[_specs_pb2.AppSpec, _Mapping]] = ..., allow: _Optional[_Iterable[str]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ServiceChange(_message.Message):
    __slots__ = ("service", "action", "detail", "placements")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PLACEMENTS_FIELD_NUMBER: _ClassVar[int]
    service: str
    action: str
    detail: str
    placements: _containers.RepeatedCompositeFieldContainer[TaskPlacement]
    def __init__(self, service: _Optional[str] = ..., action: _Optional[str] = ..., detail: _Optional[str] = ..., placements: _Optional[_Iterable[_Union[TaskPlacement, _Mapping]]] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ("app", "changes")
    APP_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    app: _objects_pb2.App
    changes: _containers.RepeatedCompositeFieldContainer[ServiceChange]
    def __init__(self, app: _Optional[_Union[_objects_pb2.App, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[ServiceChange, _Mapping]]] = ...) -> None: ...

class GetAppRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("app", "brief", "json_rows")
    APP_FIELD_NUMBER: _ClassVar[int]
    BRIEF_FIELD_NUMBER: _ClassVar[int]
    JSON_ROWS_FIELD_NUMBER: _ClassVar[int]
    app: str
    brief: bool
    json_rows: bool
    def __init__(self, app: _Optional[str] = ..., brief: _Optional[bool] = ..., json_rows: _Optional[bool] = ...) -> None: ...

class ListAppsResponse(_message.Message):
    __slots__ = ("apps", "services")
    APPS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    apps: _containers.RepeatedCompositeFieldContainer[_objects_pb2.App]
    services: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Service]
    def __init__(self, apps: _Optional[_Iterable[_Union[_objects_pb2.App, _Mapping]]] = ..., services: _Optional[_Iterable[_Union[_objects_pb2.Service, _Mapping]]] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Service]
    def __init__(self, services: _Optional[_Iterable[_Union[_objects_pb2.Service, _Mapping]]] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "json_rows")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    JSON_ROWS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Task]
    json_rows: bytes
    def __init__(self, tasks: _Optional[_Iterable[_Union[_objects_pb2.Task, _Mapping]]] = ..., json_rows: _Optional[bytes] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes", "allocated")
    class AllocatedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _specs_pb2.Resources
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_specs_pb2.Resources, _Mapping]] = ...) -> None: ...
    NODES_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Node]
    allocated: _containers.MessageMap[str, _specs_pb2.Resources]
    def __init__(self, nodes: _Optional[_Iterable[_Union[_objects_pb2.Node, _Mapping]]] = ..., allocated: _Optional[_Mapping[str, _specs_pb2.Resources]] = ...) -> None: ...

class AppDescription(_message.Message):
    __slots__ = ("app", "services", "tasks", "events", "waves")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    WAVES_FIELD_NUMBER: _ClassVar[int]
    app: _objects_pb2.App
    services: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Service]
    tasks: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Task]
    events: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Event]
    waves: _containers.RepeatedCompositeFieldContainer[Wave]
    def __init__(self, app: _Optional[_Union[_objects_pb2.App, _Mapping]] = ..., services: _Optional[_Iterable[_Union[_objects_pb2.Service, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[_objects_pb2.Task, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[_objects_pb2.Event, _Mapping]]] = ..., waves: _Optional[_Iterable[_Union[Wave, _Mapping]]] = ...) -> None: ...

class Wave(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, services: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteAppRequest(_message.Message):
    __slots__ = ("name", "volumes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    name: str
    volumes: bool
    def __init__(self, name: _Optional[str] = ..., volumes: _Optional[bool] = ...) -> None: ...

class DeleteAppResponse(_message.Message):
    __slots__ = ("deleted", "volumes")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    volumes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, deleted: _Optional[bool] = ..., volumes: _Optional[_Iterable[str]] = ...) -> None: ...

class ScaleRequest(_message.Message):
    __slots__ = ("app", "service", "replicas")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    app: str
    service: str
    replicas: int
    def __init__(self, app: _Optional[str] = ..., service: _Optional[str] = ..., replicas: _Optional[int] = ...) -> None: ...

class SetAvailabilityRequest(_message.Message):
    __slots__ = ("node", "availability", "force")
    NODE_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    node: str
    availability: _objects_pb2.Availability
    force: bool
    def __init__(self, node: _Optional[str] = ..., availability: _Optional[_Union[_objects_pb2.Availability, str]] = ..., force: _Optional[bool] = ...) -> None: ...

class RemoveNodeRequest(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: str
    def __init__(self, node: _Optional[str] = ...) -> None: ...

class RemoveNodeResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("app", "history", "stop_after_history")
    APP_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    STOP_AFTER_HISTORY_FIELD_NUMBER: _ClassVar[int]
    app: str
    history: bool
    stop_after_history: bool
    def __init__(self, app: _Optional[str] = ..., history: _Optional[bool] = ..., stop_after_history: _Optional[bool] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("app", "service", "slot", "follow", "tail")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    app: str
    service: str
    slot: int
    follow: bool
    tail: int
    def __init__(self, app: _Optional[str] = ..., service: _Optional[str] = ..., slot: _Optional[int] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("task_id", "service", "slot", "node", "data", "notice")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    service: str
    slot: int
    node: str
    data: bytes
    notice: str
    def __init__(self, task_id: _Optional[str] = ..., service: _Optional[str] = ..., slot: _Optional[int] = ..., node: _Optional[str] = ..., data: _Optional[bytes] = ..., notice: _Optional[str] = ...) -> None: ...

class ExecStart(_message.Message):
    __slots__ = ("app", "service", "slot", "argv", "tty", "stdin", "rows", "cols", "env", "user", "workdir")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    app: str
    service: str
    slot: int
    argv: _containers.RepeatedScalarFieldContainer[str]
    tty: bool
    stdin: bool
    rows: int
    cols: int
    env: _containers.RepeatedScalarFieldContainer[str]
    user: str
    workdir: str
    def __init__(self, app: _Optional[str] = ..., service: _Optional[str] = ..., slot: _Optional[int] = ..., argv: _Optional[_Iterable[str]] = ..., tty: _Optional[bool] = ..., stdin: _Optional[bool] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ..., env: _Optional[_Iterable[str]] = ..., user: _Optional[str] = ..., workdir: _Optional[str] = ...) -> None: ...

class ExecInput(_message.Message):
    __slots__ = ("start", "data", "eof", "rows", "cols")
    START_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    start: ExecStart
    data: bytes
    eof: bool
    rows: int
    cols: int
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., data: _Optional[bytes] = ..., eof: _Optional[bool] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ...) -> None: ...

class ExecOutput(_message.Message):
    __slots__ = ("task_id", "node", "slot", "data", "stream", "exited", "exit_code")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EXITED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    node: str
    slot: int
    data: bytes
    stream: int
    exited: bool
    exit_code: int
    def __init__(self, task_id: _Optional[str] = ..., node: _Optional[str] = ..., slot: _Optional[int] = ..., data: _Optional[bytes] = ..., stream: _Optional[int] = ..., exited: _Optional[bool] = ..., exit_code: _Optional[int] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("app",)
    APP_FIELD_NUMBER: _ClassVar[int]
    app: str
    def __init__(self, app: _Optional[str] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("versions", "current")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_objects_pb2.AppVersion]
    current: int
    def __init__(self, versions: _Optional[_Iterable[_Union[_objects_pb2.AppVersion, _Mapping]]] = ..., current: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("app", "to")
    APP_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    app: str
    to: int
    def __init__(self, app: _Optional[str] = ..., to: _Optional[int] = ...) -> None: ...

class PutFileRequest(_message.Message):
    __slots__ = ("kind", "name", "data")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    data: bytes
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class FileSummary(_message.Message):
    __slots__ = ("file", "used_by")
    FILE_FIELD_NUMBER: _ClassVar[int]
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    file: _objects_pb2.StoredFile
    used_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, file: _Optional[_Union[_objects_pb2.StoredFile, _Mapping]] = ..., used_by: _Optional[_Iterable[str]] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileSummary]
    def __init__(self, files: _Optional[_Iterable[_Union[FileSummary, _Mapping]]] = ...) -> None: ...

class RemoveFileRequest(_message.Message):
    __slots__ = ("kind", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RemoveFileResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...

class ForgetVolumeRequest(_message.Message):
    __slots__ = ("app", "volume")
    APP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    app: str
    volume: str
    def __init__(self, app: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class ForgetVolumeResponse(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: str
    def __init__(self, node: _Optional[str] = ...) -> None: ...

class VolumeUser(_message.Message):
    __slots__ = ("task_id", "service", "slot", "node", "state", "recreate")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECREATE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    service: str
    slot: int
    node: str
    state: str
    recreate: bool
    def __init__(self, task_id: _Optional[str] = ..., service: _Optional[str] = ..., slot: _Optional[int] = ..., node: _Optional[str] = ..., state: _Optional[str] = ..., recreate: _Optional[bool] = ...) -> None: ...

class VolumeInfo(_message.Message):
    __slots__ = ("app", "name", "node", "driver", "first_used_ms", "users", "remove_from", "external")
    APP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    FIRST_USED_MS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    app: str
    name: str
    node: str
    driver: str
    first_used_ms: int
    users: _containers.RepeatedCompositeFieldContainer[VolumeUser]
    remove_from: _containers.RepeatedScalarFieldContainer[str]
    external: bool
    def __init__(self, app: _Optional[str] = ..., name: _Optional[str] = ..., node: _Optional[str] = ..., driver: _Optional[str] = ..., first_used_ms: _Optional[int] = ..., users: _Optional[_Iterable[_Union[VolumeUser, _Mapping]]] = ..., remove_from: _Optional[_Iterable[str]] = ..., external: _Optional[bool] = ...) -> None: ...

class ListVolumesResponse(_message.Message):
    __slots__ = ("volumes",)
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeInfo]
    def __init__(self, volumes: _Optional[_Iterable[_Union[VolumeInfo, _Mapping]]] = ...) -> None: ...

class ConsoleTokenRequest(_message.Message):
    __slots__ = ("ttl_s",)
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    ttl_s: int
    def __init__(self, ttl_s: _Optional[int] = ...) -> None: ...

class ConsoleTokenResponse(_message.Message):
    __slots__ = ("token", "expires_s", "http_listen", "https")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_S_FIELD_NUMBER: _ClassVar[int]
    HTTP_LISTEN_FIELD_NUMBER: _ClassVar[int]
    HTTPS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_s: int
    http_listen: str
    https: bool
    def __init__(self, token: _Optional[str] = ..., expires_s: _Optional[int] = ..., http_listen: _Optional[str] = ..., https: _Optional[bool] = ...) -> None: ...

class ClusterInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClusterInfoResponse(_message.Message):
    __slots__ = ("registry",)
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    registry: str
    def __init__(self, registry: _Optional[str] = ...) -> None: ...

class BuildUpload(_message.Message):
    __slots__ = ("service", "spec", "tag", "context", "platform")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    service: str
    spec: _specs_pb2.BuildSpec
    tag: str
    context: bytes
    platform: str
    def __init__(self, service: _Optional[str] = ..., spec: _Optional[_Union[_specs_pb2.BuildSpec, _Mapping]] = ..., tag: _Optional[str] = ..., context: _Optional[bytes] = ..., platform: _Optional[str] = ...) -> None: ...

class BuildOutput(_message.Message):
    __slots__ = ("node", "line", "error", "digest", "platform")
    NODE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    node: str
    line: str
    error: str
    digest: str
    platform: str
    def __init__(self, node: _Optional[str] = ..., line: _Optional[str] = ..., error: _Optional[str] = ..., digest: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class TaskPlacement(_message.Message):
    __slots__ = ("slot", "node", "pending")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    slot: int
    node: str
    pending: str
    def __init__(self, slot: _Optional[int] = ..., node: _Optional[str] = ..., pending: _Optional[str] = ...) -> None: ...
