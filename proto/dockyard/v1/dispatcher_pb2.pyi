from dockyard.v1 import objects_pb2 as _objects_pb2
from dockyard.v1 import specs_pb2 as _specs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("description", "token", "csr")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_FIELD_NUMBER: _ClassVar[int]
    description: _objects_pb2.NodeDescription
    token: str
    csr: bytes
    def __init__(self, description: _Optional[_Union[_objects_pb2.NodeDescription, _Mapping]] = ..., token: _Optional[str] = ..., csr: _Optional[bytes] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("session_id", "heartbeat_period_ms", "certificate", "ca_certificate", "subnet", "cluster_cidr")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_CIDR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    heartbeat_period_ms: int
    certificate: bytes
    ca_certificate: bytes
    subnet: str
    cluster_cidr: str
    def __init__(self, session_id: _Optional[str] = ..., heartbeat_period_ms: _Optional[int] = ..., certificate: _Optional[bytes] = ..., ca_certificate: _Optional[bytes] = ..., subnet: _Optional[str] = ..., cluster_cidr: _Optional[str] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ("csr",)
    CSR_FIELD_NUMBER: _ClassVar[int]
    csr: bytes
    def __init__(self, csr: _Optional[bytes] = ...) -> None: ...

class RenewResponse(_message.Message):
    __slots__ = ("certificate", "ca_certificate")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: bytes
    ca_certificate: bytes
    def __init__(self, certificate: _Optional[bytes] = ..., ca_certificate: _Optional[bytes] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ("node", "session_id")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    node: str
    session_id: str
    def __init__(self, node: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("action", "task")
    class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACTION_UNSPECIFIED: _ClassVar[Assignment.Action]
        UPDATE: _ClassVar[Assignment.Action]
        REMOVE: _ClassVar[Assignment.Action]
    ACTION_UNSPECIFIED: Assignment.Action
    UPDATE: Assignment.Action
    REMOVE: Assignment.Action
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    action: Assignment.Action
    task: _objects_pb2.Task
    def __init__(self, action: _Optional[_Union[Assignment.Action, str]] = ..., task: _Optional[_Union[_objects_pb2.Task, _Mapping]] = ...) -> None: ...

class SessionMessage(_message.Message):
    __slots__ = ("complete", "assignments", "files", "endpoints", "has_endpoints", "subscriptions", "peers", "has_peers", "network", "has_network", "remove_volumes", "volume_names", "has_remove_volumes", "builds", "peer_changes")
    class FilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    HAS_ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    HAS_PEERS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    HAS_NETWORK_FIELD_NUMBER: _ClassVar[int]
    REMOVE_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_NAMES_FIELD_NUMBER: _ClassVar[int]
    HAS_REMOVE_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    BUILDS_FIELD_NUMBER: _ClassVar[int]
    PEER_CHANGES_FIELD_NUMBER: _ClassVar[int]
    complete: bool
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    files: _containers.ScalarMap[str, bytes]
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    has_endpoints: bool
    subscriptions: _containers.RepeatedCompositeFieldContainer[LogSubscription]
    peers: _containers.RepeatedCompositeFieldContainer[Peer]
    has_peers: bool
    network: NetworkTable
    has_network: bool
    remove_volumes: _containers.RepeatedScalarFieldContainer[str]
    volume_names: _containers.RepeatedScalarFieldContainer[str]
    has_remove_volumes: bool
    builds: _containers.RepeatedCompositeFieldContainer[BuildOrder]
    peer_changes: _containers.RepeatedCompositeFieldContainer[Peer]
    def __init__(self, complete: _Optional[bool] = ..., assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., files: _Optional[_Mapping[str, bytes]] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., has_endpoints: _Optional[bool] = ..., subscriptions: _Optional[_Iterable[_Union[LogSubscription, _Mapping]]] = ..., peers: _Optional[_Iterable[_Union[Peer, _Mapping]]] = ..., has_peers: _Optional[bool] = ..., network: _Optional[_Union[NetworkTable, _Mapping]] = ..., has_network: _Optional[bool] = ..., remove_volumes: _Optional[_Iterable[str]] = ..., volume_names: _Optional[_Iterable[str]] = ..., has_remove_volumes: _Optional[bool] = ..., builds: _Optional[_Iterable[_Union[BuildOrder, _Mapping]]] = ..., peer_changes: _Optional[_Iterable[_Union[Peer, _Mapping]]] = ...) -> None: ...

class Peer(_message.Message):
    __slots__ = ("name", "address", "subnet")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    subnet: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., subnet: _Optional[str] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("app", "service", "addresses", "aliases")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    app: str
    service: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, app: _Optional[str] = ..., service: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node", "session_id", "answer")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    node: str
    session_id: str
    answer: bool
    def __init__(self, node: _Optional[str] = ..., session_id: _Optional[str] = ..., answer: _Optional[bool] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("period_ms",)
    PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    period_ms: int
    def __init__(self, period_ms: _Optional[int] = ...) -> None: ...

class TaskStatusUpdate(_message.Message):
    __slots__ = ("task_id", "status")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    status: _objects_pb2.TaskStatus
    def __init__(self, task_id: _Optional[str] = ..., status: _Optional[_Union[_objects_pb2.TaskStatus, _Mapping]] = ...) -> None: ...

class UpdateTaskStatusRequest(_message.Message):
    __slots__ = ("node", "session_id", "updates")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    node: str
    session_id: str
    updates: _containers.RepeatedCompositeFieldContainer[TaskStatusUpdate]
    def __init__(self, node: _Optional[str] = ..., session_id: _Optional[str] = ..., updates: _Optional[_Iterable[_Union[TaskStatusUpdate, _Mapping]]] = ...) -> None: ...

class UpdateTaskStatusResponse(_message.Message):
    __slots__ = ("retry_after_ms",)
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    retry_after_ms: int
    def __init__(self, retry_after_ms: _Optional[int] = ...) -> None: ...

class LogSubscription(_message.Message):
    __slots__ = ("id", "task_ids", "follow", "tail", "exec")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    EXEC_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    follow: bool
    tail: int
    exec: ExecRequest
    def __init__(self, id: _Optional[str] = ..., task_ids: _Optional[_Iterable[str]] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ..., exec: _Optional[_Union[ExecRequest, _Mapping]] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("task_id", "argv", "tty", "stdin", "rows", "cols", "env", "user", "workdir")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    argv: _containers.RepeatedScalarFieldContainer[str]
    tty: bool
    stdin: bool
    rows: int
    cols: int
    env: _containers.RepeatedScalarFieldContainer[str]
    user: str
    workdir: str
    def __init__(self, task_id: _Optional[str] = ..., argv: _Optional[_Iterable[str]] = ..., tty: _Optional[bool] = ..., stdin: _Optional[bool] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ..., env: _Optional[_Iterable[str]] = ..., user: _Optional[str] = ..., workdir: _Optional[str] = ...) -> None: ...

class ExecFromNode(_message.Message):
    __slots__ = ("node", "subscription_id", "data", "stream", "exited", "exit_code", "error")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EXITED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    node: str
    subscription_id: str
    data: bytes
    stream: int
    exited: bool
    exit_code: int
    error: str
    def __init__(self, node: _Optional[str] = ..., subscription_id: _Optional[str] = ..., data: _Optional[bytes] = ..., stream: _Optional[int] = ..., exited: _Optional[bool] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class ExecToNode(_message.Message):
    __slots__ = ("data", "eof", "rows", "cols")
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    eof: bool
    rows: int
    cols: int
    def __init__(self, data: _Optional[bytes] = ..., eof: _Optional[bool] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ...) -> None: ...

class PublishLogsMessage(_message.Message):
    __slots__ = ("node", "subscription_id", "task_id", "data", "done", "error")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    node: str
    subscription_id: str
    task_id: str
    data: bytes
    done: bool
    error: str
    def __init__(self, node: _Optional[str] = ..., subscription_id: _Optional[str] = ..., task_id: _Optional[str] = ..., data: _Optional[bytes] = ..., done: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class PublishLogsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("node", "session_id")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    node: str
    session_id: str
    def __init__(self, node: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class LeaveResponse(_message.Message):
    __slots__ = ("grace_ms",)
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    grace_ms: int
    def __init__(self, grace_ms: _Optional[int] = ...) -> None: ...

class NetworkTable(_message.Message):
    __slots__ = ("members", "ingress")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[NetworkMembers]
    ingress: _containers.RepeatedCompositeFieldContainer[IngressPort]
    def __init__(self, members: _Optional[_Iterable[_Union[NetworkMembers, _Mapping]]] = ..., ingress: _Optional[_Iterable[_Union[IngressPort, _Mapping]]] = ...) -> None: ...

class NetworkMembers(_message.Message):
    __slots__ = ("app", "network", "addresses")
    APP_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    app: str
    network: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, app: _Optional[str] = ..., network: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class IngressPort(_message.Message):
    __slots__ = ("app", "service", "port", "protocol", "target_port", "host_ip", "backends")
    APP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TARGET_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    app: str
    service: str
    port: int
    protocol: str
    target_port: int
    host_ip: str
    backends: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, app: _Optional[str] = ..., service: _Optional[str] = ..., port: _Optional[int] = ..., protocol: _Optional[str] = ..., target_port: _Optional[int] = ..., host_ip: _Optional[str] = ..., backends: _Optional[_Iterable[str]] = ...) -> None: ...

class VolumesRemovedRequest(_message.Message):
    __slots__ = ("node", "session_id", "volumes")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    node: str
    session_id: str
    volumes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, node: _Optional[str] = ..., session_id: _Optional[str] = ..., volumes: _Optional[_Iterable[str]] = ...) -> None: ...

class VolumesRemovedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BuildOrder(_message.Message):
    __slots__ = ("id", "spec", "tag")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    spec: _specs_pb2.BuildSpec
    tag: str
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[_specs_pb2.BuildSpec, _Mapping]] = ..., tag: _Optional[str] = ...) -> None: ...

class FetchContextRequest(_message.Message):
    __slots__ = ("node", "build_id")
    NODE_FIELD_NUMBER: _ClassVar[int]
    BUILD_ID_FIELD_NUMBER: _ClassVar[int]
    node: str
    build_id: str
    def __init__(self, node: _Optional[str] = ..., build_id: _Optional[str] = ...) -> None: ...

class ContextChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class PublishBuildMessage(_message.Message):
    __slots__ = ("node", "build_id", "line", "error", "digest")
    NODE_FIELD_NUMBER: _ClassVar[int]
    BUILD_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    node: str
    build_id: str
    line: str
    error: str
    digest: str
    def __init__(self, node: _Optional[str] = ..., build_id: _Optional[str] = ..., line: _Optional[str] = ..., error: _Optional[str] = ..., digest: _Optional[str] = ...) -> None: ...

class PublishBuildResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
