from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DependencyCondition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPENDENCY_CONDITION_UNSPECIFIED: _ClassVar[DependencyCondition]
    SERVICE_STARTED: _ClassVar[DependencyCondition]
    SERVICE_HEALTHY: _ClassVar[DependencyCondition]
    SERVICE_COMPLETED_SUCCESSFULLY: _ClassVar[DependencyCondition]

class RestartCondition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESTART_CONDITION_UNSPECIFIED: _ClassVar[RestartCondition]
    RESTART_NONE: _ClassVar[RestartCondition]
    RESTART_ON_FAILURE: _ClassVar[RestartCondition]
    RESTART_ANY: _ClassVar[RestartCondition]

class Strategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRATEGY_UNSPECIFIED: _ClassVar[Strategy]
    BINPACK: _ClassVar[Strategy]
    SPREAD: _ClassVar[Strategy]
DEPENDENCY_CONDITION_UNSPECIFIED: DependencyCondition
SERVICE_STARTED: DependencyCondition
SERVICE_HEALTHY: DependencyCondition
SERVICE_COMPLETED_SUCCESSFULLY: DependencyCondition
RESTART_CONDITION_UNSPECIFIED: RestartCondition
RESTART_NONE: RestartCondition
RESTART_ON_FAILURE: RestartCondition
RESTART_ANY: RestartCondition
STRATEGY_UNSPECIFIED: Strategy
BINPACK: Strategy
SPREAD: Strategy

class Argv(_message.Message):
    __slots__ = ("args",)
    ARGS_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, args: _Optional[_Iterable[str]] = ...) -> None: ...

class Resources(_message.Message):
    __slots__ = ("cpu_millis", "memory_bytes")
    CPU_MILLIS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    cpu_millis: int
    memory_bytes: int
    def __init__(self, cpu_millis: _Optional[int] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class PortMapping(_message.Message):
    __slots__ = ("container_port", "host_port", "protocol", "host_ip")
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host_port: int
    protocol: str
    host_ip: str
    def __init__(self, container_port: _Optional[int] = ..., host_port: _Optional[int] = ..., protocol: _Optional[str] = ..., host_ip: _Optional[str] = ...) -> None: ...

class VolumeMount(_message.Message):
    __slots__ = ("type", "source", "target", "read_only")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    type: str
    source: str
    target: str
    read_only: bool
    def __init__(self, type: _Optional[str] = ..., source: _Optional[str] = ..., target: _Optional[str] = ..., read_only: _Optional[bool] = ...) -> None: ...

class Dependency(_message.Message):
    __slots__ = ("service", "condition", "restart", "required")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    service: str
    condition: DependencyCondition
    restart: bool
    required: bool
    def __init__(self, service: _Optional[str] = ..., condition: _Optional[_Union[DependencyCondition, str]] = ..., restart: _Optional[bool] = ..., required: _Optional[bool] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ("test", "interval_ms", "timeout_ms", "retries", "start_period_ms", "disable")
    TEST_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    START_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    DISABLE_FIELD_NUMBER: _ClassVar[int]
    test: _containers.RepeatedScalarFieldContainer[str]
    interval_ms: int
    timeout_ms: int
    retries: int
    start_period_ms: int
    disable: bool
    def __init__(self, test: _Optional[_Iterable[str]] = ..., interval_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., retries: _Optional[int] = ..., start_period_ms: _Optional[int] = ..., disable: _Optional[bool] = ...) -> None: ...

class RestartPolicy(_message.Message):
    __slots__ = ("condition", "delay_ms", "max_attempts", "window_ms")
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    condition: RestartCondition
    delay_ms: int
    max_attempts: int
    window_ms: int
    def __init__(self, condition: _Optional[_Union[RestartCondition, str]] = ..., delay_ms: _Optional[int] = ..., max_attempts: _Optional[int] = ..., window_ms: _Optional[int] = ...) -> None: ...

class FileReference(_message.Message):
    __slots__ = ("source", "target", "uid", "gid", "mode")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    uid: str
    gid: str
    mode: int
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ..., uid: _Optional[str] = ..., gid: _Optional[str] = ..., mode: _Optional[int] = ...) -> None: ...

class UpdateConfig(_message.Message):
    __slots__ = ("parallelism", "delay_ms", "order", "failure_action")
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FAILURE_ACTION_FIELD_NUMBER: _ClassVar[int]
    parallelism: int
    delay_ms: int
    order: str
    failure_action: str
    def __init__(self, parallelism: _Optional[int] = ..., delay_ms: _Optional[int] = ..., order: _Optional[str] = ..., failure_action: _Optional[str] = ...) -> None: ...

class PlacementSpec(_message.Message):
    __slots__ = ("constraints", "spread", "max_per_node")
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    SPREAD_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_NODE_FIELD_NUMBER: _ClassVar[int]
    constraints: _containers.RepeatedScalarFieldContainer[str]
    spread: _containers.RepeatedScalarFieldContainer[str]
    max_per_node: int
    def __init__(self, constraints: _Optional[_Iterable[str]] = ..., spread: _Optional[_Iterable[str]] = ..., max_per_node: _Optional[int] = ...) -> None: ...

class ServiceSpec(_message.Message):
    __slots__ = ("name", "image", "command", "entrypoint", "environment", "ports", "expose", "labels", "user", "working_dir", "hostname", "stop_signal", "stop_grace_period_ms", "cap_add", "cap_drop", "volumes", "depends_on", "healthcheck", "restart_policy", "networks", "secrets", "configs", "replicas", "limits", "reservations", "placement", "update_config")
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    EXPOSE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    STOP_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    STOP_GRACE_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    CAP_ADD_FIELD_NUMBER: _ClassVar[int]
    CAP_DROP_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    HEALTHCHECK_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    name: str
    image: str
    command: Argv
    entrypoint: Argv
    environment: _containers.ScalarMap[str, str]
    ports: _containers.RepeatedCompositeFieldContainer[PortMapping]
    expose: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    user: str
    working_dir: str
    hostname: str
    stop_signal: str
    stop_grace_period_ms: int
    cap_add: _containers.RepeatedScalarFieldContainer[str]
    cap_drop: _containers.RepeatedScalarFieldContainer[str]
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeMount]
    depends_on: _containers.RepeatedCompositeFieldContainer[Dependency]
    healthcheck: HealthCheck
    restart_policy: RestartPolicy
    networks: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedCompositeFieldContainer[FileReference]
    configs: _containers.RepeatedCompositeFieldContainer[FileReference]
    replicas: int
    limits: Resources
    reservations: Resources
    placement: PlacementSpec
    update_config: UpdateConfig
    def __init__(self, name: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Union[Argv, _Mapping]] = ..., entrypoint: _Optional[_Union[Argv, _Mapping]] = ..., environment: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Iterable[_Union[PortMapping, _Mapping]]] = ..., expose: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., user: _Optional[str] = ..., working_dir: _Optional[str] = ..., hostname: _Optional[str] = ..., stop_signal: _Optional[str] = ..., stop_grace_period_ms: _Optional[int] = ..., cap_add: _Optional[_Iterable[str]] = ..., cap_drop: _Optional[_Iterable[str]] = ..., volumes: _Optional[_Iterable[_Union[VolumeMount, _Mapping]]] = ..., depends_on: _Optional[_Iterable[_Union[Dependency, _Mapping]]] = ..., healthcheck: _Optional[_Union[HealthCheck, _Mapping]] = ..., restart_policy: _Optional[_Union[RestartPolicy, _Mapping]] = ..., networks: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[FileReference, _Mapping]]] = ..., configs: _Optional[_Iterable[_Union[FileReference, _Mapping]]] = ..., replicas: _Optional[int] = ..., limits: _Optional[_Union[Resources, _Mapping]] = ..., reservations: _Optional[_Union[Resources, _Mapping]] = ..., placement: _Optional[_Union[PlacementSpec, _Mapping]] = ..., update_config: _Optional[_Union[UpdateConfig, _Mapping]] = ...) -> None: ...

class FileObject(_message.Message):
    __slots__ = ("name", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class AppSpec(_message.Message):
    __slots__ = ("name", "services", "volumes", "networks", "secrets", "configs", "strategy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    name: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceSpec]
    volumes: _containers.RepeatedScalarFieldContainer[str]
    networks: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedCompositeFieldContainer[FileObject]
    configs: _containers.RepeatedCompositeFieldContainer[FileObject]
    strategy: Strategy
    def __init__(self, name: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceSpec, _Mapping]]] = ..., volumes: _Optional[_Iterable[str]] = ..., networks: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[FileObject, _Mapping]]] = ..., configs: _Optional[_Iterable[_Union[FileObject, _Mapping]]] = ..., strategy: _Optional[_Union[Strategy, str]] = ...) -> None: ...
