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
    __slots__ = ("container_port", "host_port", "protocol", "host_ip", "name", "app_protocol", "mode")
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    APP_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host_port: int
    protocol: str
    host_ip: str
    name: str
    app_protocol: str
    mode: str
    def __init__(self, container_port: _Optional[int] = ..., host_port: _Optional[int] = ..., protocol: _Optional[str] = ..., host_ip: _Optional[str] = ..., name: _Optional[str] = ..., app_protocol: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...

class VolumeMount(_message.Message):
    __slots__ = ("type", "source", "target", "read_only", "bind_propagation", "bind_no_create", "selinux", "volume_nocopy", "volume_subpath", "tmpfs_size_bytes", "tmpfs_mode")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    BIND_PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    BIND_NO_CREATE_FIELD_NUMBER: _ClassVar[int]
    SELINUX_FIELD_NUMBER: _ClassVar[int]
    VOLUME_NOCOPY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SUBPATH_FIELD_NUMBER: _ClassVar[int]
    TMPFS_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TMPFS_MODE_FIELD_NUMBER: _ClassVar[int]
    type: str
    source: str
    target: str
    read_only: bool
    bind_propagation: str
    bind_no_create: bool
    selinux: str
    volume_nocopy: bool
    volume_subpath: str
    tmpfs_size_bytes: int
    tmpfs_mode: int
    def __init__(self, type: _Optional[str] = ..., source: _Optional[str] = ..., target: _Optional[str] = ..., read_only: _Optional[bool] = ..., bind_propagation: _Optional[str] = ..., bind_no_create: _Optional[bool] = ..., selinux: _Optional[str] = ..., volume_nocopy: _Optional[bool] = ..., volume_subpath: _Optional[str] = ..., tmpfs_size_bytes: _Optional[int] = ..., tmpfs_mode: _Optional[int] = ...) -> None: ...

class BuildSpec(_message.Message):
    __slots__ = ("context", "dockerfile", "args", "target", "context_hash")
    class ArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_HASH_FIELD_NUMBER: _ClassVar[int]
    context: str
    dockerfile: str
    args: _containers.ScalarMap[str, str]
    target: str
    context_hash: str
    def __init__(self, context: _Optional[str] = ..., dockerfile: _Optional[str] = ..., args: _Optional[_Mapping[str, str]] = ..., target: _Optional[str] = ..., context_hash: _Optional[str] = ...) -> None: ...

class LoggingSpec(_message.Message):
    __slots__ = ("driver", "options")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    driver: str
    options: _containers.ScalarMap[str, str]
    def __init__(self, driver: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Ulimit(_message.Message):
    __slots__ = ("name", "soft", "hard")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOFT_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    name: str
    soft: int
    hard: int
    def __init__(self, name: _Optional[str] = ..., soft: _Optional[int] = ..., hard: _Optional[int] = ...) -> None: ...

class DeviceMapping(_message.Message):
    __slots__ = ("host_path", "container_path", "permissions")
    HOST_PATH_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_PATH_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    host_path: str
    container_path: str
    permissions: str
    def __init__(self, host_path: _Optional[str] = ..., container_path: _Optional[str] = ..., permissions: _Optional[str] = ...) -> None: ...

class VolumeSpec(_message.Message):
    __slots__ = ("name", "driver", "driver_opts", "external", "engine_name", "labels")
    class DriverOptsEntry(_message.Message):
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
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    DRIVER_OPTS_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    ENGINE_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    driver: str
    driver_opts: _containers.ScalarMap[str, str]
    external: bool
    engine_name: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., driver: _Optional[str] = ..., driver_opts: _Optional[_Mapping[str, str]] = ..., external: _Optional[bool] = ..., engine_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

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
    __slots__ = ("test", "interval_ms", "timeout_ms", "retries", "start_period_ms", "disable", "start_interval_ms")
    TEST_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    START_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    DISABLE_FIELD_NUMBER: _ClassVar[int]
    START_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    test: _containers.RepeatedScalarFieldContainer[str]
    interval_ms: int
    timeout_ms: int
    retries: int
    start_period_ms: int
    disable: bool
    start_interval_ms: int
    def __init__(self, test: _Optional[_Iterable[str]] = ..., interval_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., retries: _Optional[int] = ..., start_period_ms: _Optional[int] = ..., disable: _Optional[bool] = ..., start_interval_ms: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("source", "target", "uid", "gid", "mode", "object", "version")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    uid: str
    gid: str
    mode: int
    object: str
    version: int
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ..., uid: _Optional[str] = ..., gid: _Optional[str] = ..., mode: _Optional[int] = ..., object: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class UpdateConfig(_message.Message):
    __slots__ = ("parallelism", "delay_ms", "order", "failure_action", "monitor_ms", "max_failure_ratio")
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FAILURE_ACTION_FIELD_NUMBER: _ClassVar[int]
    MONITOR_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILURE_RATIO_FIELD_NUMBER: _ClassVar[int]
    parallelism: int
    delay_ms: int
    order: str
    failure_action: str
    monitor_ms: int
    max_failure_ratio: float
    def __init__(self, parallelism: _Optional[int] = ..., delay_ms: _Optional[int] = ..., order: _Optional[str] = ..., failure_action: _Optional[str] = ..., monitor_ms: _Optional[int] = ..., max_failure_ratio: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("name", "image", "command", "entrypoint", "environment", "ports", "expose", "labels", "user", "working_dir", "hostname", "stop_signal", "stop_grace_period_ms", "cap_add", "cap_drop", "volumes", "depends_on", "healthcheck", "restart_policy", "networks", "secrets", "configs", "replicas", "limits", "reservations", "placement", "update_config", "build", "logging", "ulimits", "init", "extra_hosts", "tmpfs", "sysctls", "privileged", "read_only", "shm_size_bytes", "stdin_open", "tty", "platform", "pids_limit", "security_opt", "devices", "device_cgroup_rules", "dns", "dns_search", "dns_opt", "deploy_labels", "domainname", "group_add", "pid", "ipc", "uts", "userns_mode", "network_mode", "rollback_config", "aliases", "volumes_recreate")
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
    class TmpfsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SysctlsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class DeployLabelsEntry(_message.Message):
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
    BUILD_FIELD_NUMBER: _ClassVar[int]
    LOGGING_FIELD_NUMBER: _ClassVar[int]
    ULIMITS_FIELD_NUMBER: _ClassVar[int]
    INIT_FIELD_NUMBER: _ClassVar[int]
    EXTRA_HOSTS_FIELD_NUMBER: _ClassVar[int]
    TMPFS_FIELD_NUMBER: _ClassVar[int]
    SYSCTLS_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    SHM_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STDIN_OPEN_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PIDS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SECURITY_OPT_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_CGROUP_RULES_FIELD_NUMBER: _ClassVar[int]
    DNS_FIELD_NUMBER: _ClassVar[int]
    DNS_SEARCH_FIELD_NUMBER: _ClassVar[int]
    DNS_OPT_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_LABELS_FIELD_NUMBER: _ClassVar[int]
    DOMAINNAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_ADD_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    IPC_FIELD_NUMBER: _ClassVar[int]
    UTS_FIELD_NUMBER: _ClassVar[int]
    USERNS_MODE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_MODE_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_RECREATE_FIELD_NUMBER: _ClassVar[int]
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
    build: BuildSpec
    logging: LoggingSpec
    ulimits: _containers.RepeatedCompositeFieldContainer[Ulimit]
    init: bool
    extra_hosts: _containers.RepeatedScalarFieldContainer[str]
    tmpfs: _containers.ScalarMap[str, str]
    sysctls: _containers.ScalarMap[str, str]
    privileged: bool
    read_only: bool
    shm_size_bytes: int
    stdin_open: bool
    tty: bool
    platform: str
    pids_limit: int
    security_opt: _containers.RepeatedScalarFieldContainer[str]
    devices: _containers.RepeatedCompositeFieldContainer[DeviceMapping]
    device_cgroup_rules: _containers.RepeatedScalarFieldContainer[str]
    dns: _containers.RepeatedScalarFieldContainer[str]
    dns_search: _containers.RepeatedScalarFieldContainer[str]
    dns_opt: _containers.RepeatedScalarFieldContainer[str]
    deploy_labels: _containers.ScalarMap[str, str]
    domainname: str
    group_add: _containers.RepeatedScalarFieldContainer[str]
    pid: str
    ipc: str
    uts: str
    userns_mode: str
    network_mode: str
    rollback_config: UpdateConfig
    aliases: _containers.RepeatedScalarFieldContainer[str]
    volumes_recreate: bool
    def __init__(self, name: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Union[Argv, _Mapping]] = ..., entrypoint: _Optional[_Union[Argv, _Mapping]] = ..., environment: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Iterable[_Union[PortMapping, _Mapping]]] = ..., expose: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., user: _Optional[str] = ..., working_dir: _Optional[str] = ..., hostname: _Optional[str] = ..., stop_signal: _Optional[str] = ..., stop_grace_period_ms: _Optional[int] = ..., cap_add: _Optional[_Iterable[str]] = ..., cap_drop: _Optional[_Iterable[str]] = ..., volumes: _Optional[_Iterable[_Union[VolumeMount, _Mapping]]] = ..., depends_on: _Optional[_Iterable[_Union[Dependency, _Mapping]]] = ..., healthcheck: _Optional[_Union[HealthCheck, _Mapping]] = ..., restart_policy: _Optional[_Union[RestartPolicy, _Mapping]] = ..., networks: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[FileReference, _Mapping]]] = ..., configs: _Optional[_Iterable[_Union[FileReference, _Mapping]]] = ..., replicas: _Optional[int] = ..., limits: _Optional[_Union[Resources, _Mapping]] = ..., reservations: _Optional[_Union[Resources, _Mapping]] = ..., placement: _Optional[_Union[PlacementSpec, _Mapping]] = ..., update_config: _Optional[_Union[UpdateConfig, _Mapping]] = ..., build: _Optional[_Union[BuildSpec, _Mapping]] = ..., logging: _Optional[_Union[LoggingSpec, _Mapping]] = ..., ulimits: _Optional[_Iterable[_Union[Ulimit, _Mapping]]] = ..., init: _Optional[bool] = ..., extra_hosts: _Optional[_Iterable[str]] = ..., tmpfs: _Optional[_Mapping[str, str]] = ..., sysctls: _Optional[_Mapping[str, str]] = ..., privileged: _Optional[bool] = ..., read_only: _Optional[bool] = ..., shm_size_bytes: _Optional[int] = ..., stdin_open: _Optional[bool] = ..., tty: _Optional[bool] = ..., platform: _Optional[str] = ..., pids_limit: _Optional[int] = ..., security_opt: _Optional[_Iterable[str]] = ..., devices: _Optional[_Iterable[_Union[DeviceMapping, _Mapping]]] = ..., device_cgroup_rules: _Optional[_Iterable[str]] = ..., dns: _Optional[_Iterable[str]] = ..., dns_search: _Optional[_Iterable[str]] = ..., dns_opt: _Optional[_Iterable[str]] = ..., deploy_labels: _Optional[_Mapping[str, str]] = ..., domainname: _Optional[str] = ..., group_add: _Optional[_Iterable[str]] = ..., pid: _Optional[str] = ..., ipc: _Optional[str] = ..., uts: _Optional[str] = ..., userns_mode: _Optional[str] = ..., network_mode: _Optional[str] = ..., rollback_config: _Optional[_Union[UpdateConfig, _Mapping]] = ..., aliases: _Optional[_Iterable[str]] = ..., volumes_recreate: _Optional[bool] = ...) -> None: ...

class FileObject(_message.Message):
    __slots__ = ("name", "data", "external", "external_name", "object", "version", "digest", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    external: bool
    external_name: str
    object: str
    version: int
    digest: str
    size: int
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ..., external: _Optional[bool] = ..., external_name: _Optional[str] = ..., object: _Optional[str] = ..., version: _Optional[int] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class AppSpec(_message.Message):
    __slots__ = ("name", "services", "volumes", "networks", "secrets", "configs", "strategy", "volume_specs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SPECS_FIELD_NUMBER: _ClassVar[int]
    name: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceSpec]
    volumes: _containers.RepeatedScalarFieldContainer[str]
    networks: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedCompositeFieldContainer[FileObject]
    configs: _containers.RepeatedCompositeFieldContainer[FileObject]
    strategy: Strategy
    volume_specs: _containers.RepeatedCompositeFieldContainer[VolumeSpec]
    def __init__(self, name: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceSpec, _Mapping]]] = ..., volumes: _Optional[_Iterable[str]] = ..., networks: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[FileObject, _Mapping]]] = ..., configs: _Optional[_Iterable[_Union[FileObject, _Mapping]]] = ..., strategy: _Optional[_Union[Strategy, str]] = ..., volume_specs: _Optional[_Iterable[_Union[VolumeSpec, _Mapping]]] = ...) -> None: ...
