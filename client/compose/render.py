"""``AppSpec`` -> Compose YAML, normalized, as ``docker compose config`` prints it.

Why: ``dockyard config -f FILE`` shows the user what Dockyard understood, with every
default filled in and every key in its long form, so surprises show before an
apply. The output loads back into the same spec (secrets aside, see ``render_app``).
Pure.
"""

from __future__ import annotations

from typing import Any

import yaml

from dockyard.client.compose.reader import strict_loader_resolves_to_str
from dockyard.common.spec.units import format_cpus, format_duration, format_size
from dockyard.v1 import specs_pb2

_STRATEGY = {specs_pb2.BINPACK: "binpack", specs_pb2.SPREAD: "spread"}
_CONDITION = {
    specs_pb2.SERVICE_STARTED: "service_started",
    specs_pb2.SERVICE_HEALTHY: "service_healthy",
    specs_pb2.SERVICE_COMPLETED_SUCCESSFULLY: "service_completed_successfully",
}
_RESTART = {
    specs_pb2.RESTART_NONE: "none",
    specs_pb2.RESTART_ON_FAILURE: "on-failure",
    specs_pb2.RESTART_ANY: "any",
}


def _resources(resources: specs_pb2.Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.cpu_millis:
        out["cpus"] = format_cpus(resources.cpu_millis)
    if resources.memory_bytes:
        out["memory"] = format_size(resources.memory_bytes)
    return out


def _deploy(service: specs_pb2.ServiceSpec) -> dict[str, Any]:
    deploy: dict[str, Any] = {"mode": "replicated", "replicas": service.replicas}
    if service.deploy_labels:
        deploy["labels"] = dict(sorted(service.deploy_labels.items()))
    resources = {
        key: value
        for key, value in (
            ("limits", _resources(service.limits)),
            ("reservations", _resources(service.reservations)),
        )
        if value
    }
    if resources:
        deploy["resources"] = resources
    policy = service.restart_policy
    restart: dict[str, Any] = {}
    if policy.condition in _RESTART:
        restart["condition"] = _RESTART[policy.condition]
    if policy.delay_ms:
        restart["delay"] = format_duration(policy.delay_ms)
    if policy.max_attempts:
        restart["max_attempts"] = policy.max_attempts
    if policy.window_ms:
        restart["window"] = format_duration(policy.window_ms)
    if restart:
        deploy["restart_policy"] = restart
    placement: dict[str, Any] = {}
    if service.placement.constraints:
        placement["constraints"] = list(service.placement.constraints)
    if service.placement.spread:
        placement["preferences"] = [{"spread": key} for key in service.placement.spread]
    if placement:
        deploy["placement"] = placement
    for key in ("update_config", "rollback_config"):
        update_out = _update_config(getattr(service, key))
        if update_out or (key == "rollback_config" and service.HasField(key)):
            deploy[key] = update_out
    return deploy


def _update_config(update: specs_pb2.UpdateConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if update.parallelism:
        out["parallelism"] = update.parallelism
    if update.delay_ms:
        out["delay"] = format_duration(update.delay_ms)
    if update.order:
        out["order"] = update.order
    if update.failure_action:
        out["failure_action"] = update.failure_action
    if update.HasField("monitor_ms"):
        out["monitor"] = format_duration(update.monitor_ms)
    if update.max_failure_ratio:
        out["max_failure_ratio"] = round(update.max_failure_ratio, 6)
    return out


def _healthcheck(check: specs_pb2.HealthCheck) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if check.test:
        out["test"] = list(check.test)
    for key, value in (
        ("interval", check.interval_ms),
        ("timeout", check.timeout_ms),
        ("start_period", check.start_period_ms),
    ):
        if value:
            out[key] = format_duration(value)
    if check.start_interval_ms:
        out["start_interval"] = format_duration(check.start_interval_ms)
    if check.retries:
        out["retries"] = check.retries
    if check.disable:
        out["disable"] = True
    return out


def _file_reference(ref: specs_pb2.FileReference) -> dict[str, Any]:
    out: dict[str, Any] = {"source": ref.source}
    if ref.target:
        out["target"] = ref.target
    if ref.uid:
        out["uid"] = ref.uid
    if ref.gid:
        out["gid"] = ref.gid
    if ref.mode:
        out["mode"] = f"0{ref.mode:o}"
    return out


def _mount(mount: specs_pb2.VolumeMount) -> dict[str, Any]:
    out: dict[str, Any] = {"type": mount.type}
    if mount.source:
        out["source"] = mount.source
    out["target"] = mount.target
    if mount.read_only:
        out["read_only"] = True
    bind = {
        key: value
        for key, value in (
            ("propagation", mount.bind_propagation),
            ("create_host_path", False if mount.bind_no_create else None),
            ("selinux", mount.selinux),
        )
        if value not in ("", None)
    }
    if bind:
        out["bind"] = bind
    volume: dict[str, Any] = {}
    if mount.volume_nocopy:
        volume["nocopy"] = True
    if mount.volume_subpath:
        volume["subpath"] = mount.volume_subpath
    if volume:
        out["volume"] = volume
    tmpfs: dict[str, Any] = {}
    if mount.tmpfs_size_bytes:
        tmpfs["size"] = format_size(mount.tmpfs_size_bytes)
    if mount.tmpfs_mode:
        tmpfs["mode"] = f"0{mount.tmpfs_mode:o}"
    if tmpfs:
        out["tmpfs"] = tmpfs
    return out


def _port(port: specs_pb2.PortMapping) -> dict[str, Any]:
    out: dict[str, Any] = {"target": port.container_port}
    if port.host_port:
        out["published"] = port.host_port
    out["protocol"] = port.protocol or "tcp"
    if port.host_ip:
        out["host_ip"] = port.host_ip
    if port.host_port:
        out["mode"] = port.mode or "host"
    if port.name:
        out["name"] = port.name
    if port.app_protocol:
        out["app_protocol"] = port.app_protocol
    return out


def _runtime(service: specs_pb2.ServiceSpec, out: dict[str, Any]) -> None:
    """The engine-facing keys of ``dockyard.client.compose.runtime``, when set."""
    if service.HasField("build"):
        build: dict[str, Any] = {"context": service.build.context}
        if service.build.dockerfile:
            build["dockerfile"] = service.build.dockerfile
        if service.build.args:
            build["args"] = dict(sorted(service.build.args.items()))
        if service.build.target:
            build["target"] = service.build.target
        out["build"] = build
    if service.HasField("logging"):
        logging: dict[str, Any] = {}
        if service.logging.driver:
            logging["driver"] = service.logging.driver
        if service.logging.options:
            logging["options"] = dict(sorted(service.logging.options.items()))
        out["logging"] = logging
    if service.ulimits:
        out["ulimits"] = {u.name: {"soft": u.soft, "hard": u.hard} for u in service.ulimits}
    if service.HasField("init"):
        out["init"] = service.init
    for key in ("privileged", "read_only", "stdin_open", "tty"):
        if getattr(service, key):
            out[key] = True
    for key in ("platform", "domainname", "pid", "ipc", "uts", "userns_mode", "network_mode"):
        if getattr(service, key):
            out[key] = getattr(service, key)
    for key in ("extra_hosts", "security_opt", "device_cgroup_rules", "dns", "dns_search",
                "dns_opt", "group_add"):  # fmt: skip
        if getattr(service, key):
            out[key] = list(getattr(service, key))
    if service.tmpfs:
        out["tmpfs"] = [f"{t}:{o}" if o else t for t, o in sorted(service.tmpfs.items())]
    if service.sysctls:
        out["sysctls"] = dict(sorted(service.sysctls.items()))
    if service.shm_size_bytes:
        out["shm_size"] = format_size(service.shm_size_bytes)
    if service.pids_limit:
        out["pids_limit"] = service.pids_limit
    if service.devices:
        out["devices"] = [
            ":".join(p for p in (d.host_path, d.container_path, d.permissions) if p)
            for d in service.devices
        ]


def service_to_dict(service: specs_pb2.ServiceSpec) -> dict[str, Any]:
    """One service in long-form Compose shape."""
    out: dict[str, Any] = {"image": service.image} if service.image else {}
    if service.HasField("entrypoint"):
        out["entrypoint"] = list(service.entrypoint.args)
    if service.HasField("command"):
        out["command"] = list(service.command.args)
    if service.environment:
        out["environment"] = dict(sorted(service.environment.items()))
    if service.ports:
        out["ports"] = [_port(port) for port in service.ports]
    if service.expose:
        out["expose"] = list(service.expose)
    if service.labels:
        out["labels"] = dict(sorted(service.labels.items()))
    for key in ("user", "working_dir", "hostname", "stop_signal"):
        if getattr(service, key):
            out[key] = getattr(service, key)
    if service.stop_grace_period_ms:
        out["stop_grace_period"] = format_duration(service.stop_grace_period_ms)
    for key in ("cap_add", "cap_drop"):
        if getattr(service, key):
            out[key] = list(getattr(service, key))
    if service.volumes:
        out["volumes"] = [_mount(mount) for mount in service.volumes]
    if service.depends_on:
        out["depends_on"] = {
            dep.service: {
                "condition": _CONDITION.get(dep.condition, "service_started"),
                "restart": dep.restart,
                "required": dep.required,
            }
            for dep in service.depends_on
        }
    if service.HasField("healthcheck"):
        out["healthcheck"] = _healthcheck(service.healthcheck)
    if service.networks and service.aliases:
        aliases = {"aliases": list(service.aliases)}
        out["networks"] = {name: dict(aliases) for name in service.networks}
    elif service.networks or service.aliases:
        out["networks"] = list(service.networks) or {"default": {"aliases": list(service.aliases)}}
    if service.secrets:
        out["secrets"] = [_file_reference(ref) for ref in service.secrets]
    if service.configs:
        out["configs"] = [_file_reference(ref) for ref in service.configs]
    _runtime(service, out)
    out["deploy"] = _deploy(service)
    extension: dict[str, Any] = {}
    if service.placement.max_per_node:
        extension["max_per_node"] = service.placement.max_per_node
    if service.volumes_recreate:
        extension["volumes"] = "recreate"
    if extension:
        out["x-dockyard"] = extension
    return out


def _volume(volume: specs_pb2.VolumeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if volume.driver:
        out["driver"] = volume.driver
    if volume.driver_opts:
        out["driver_opts"] = dict(sorted(volume.driver_opts.items()))
    if volume.external:
        out["external"] = True
    if volume.engine_name:
        out["name"] = volume.engine_name
    if volume.labels:
        out["labels"] = dict(sorted(volume.labels.items()))
    return out


def app_to_dict(spec: specs_pb2.AppSpec) -> dict[str, Any]:
    """The whole app in Compose shape; see ``render_app``."""
    out: dict[str, Any] = {"name": spec.name}
    out["x-dockyard"] = {"strategy": _STRATEGY.get(spec.strategy, "binpack")}
    out["services"] = {service.name: service_to_dict(service) for service in spec.services}
    if spec.volumes:
        options = {volume.name: _volume(volume) for volume in spec.volume_specs}
        out["volumes"] = {name: options.get(name, {}) for name in spec.volumes}
    if spec.networks:
        out["networks"] = {name: {} for name in spec.networks}
    if spec.secrets:
        out["secrets"] = {obj.name: _external(obj) if obj.external else {"file": obj.name}
                          for obj in spec.secrets}
    if spec.configs:
        configs: dict[str, Any] = {}
        for obj in spec.configs:
            if obj.external:
                configs[obj.name] = _external(obj)
                continue
            try:
                configs[obj.name] = {"content": obj.data.decode("utf-8")}
            except UnicodeDecodeError:
                configs[obj.name] = {"file": obj.name}
        out["configs"] = configs
    return out


# libyaml's emitter when present: the output is the same, and a service with a wide port
# range (tens of thousands of entries) renders in a second instead of tens.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Quotes every string that Dockyard's loader would read as something else."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if not strict_loader_resolves_to_str(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def _external(obj: specs_pb2.FileObject) -> dict[str, Any]:
    out: dict[str, Any] = {"external": True}
    if obj.external_name:
        out["name"] = obj.external_name
    return out


def render_app(spec: specs_pb2.AppSpec) -> str:
    """The app as normalized Compose YAML.

    Every default is written out and every key is in its long form. Secret contents
    are never printed: each secret renders as ``file: NAME``. Configs that are text
    render with ``content:``. Loading the output (with a reader that serves secret
    files by name) gives back the same spec.
    """
    return yaml.dump(
        app_to_dict(spec),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
