"""Every key of the Compose specification, and what Dockyard does with it: one table.

Why: "is this key supported?" must have one answer, the same in the loader, in the
warnings, in the errors and in docs/compose.md (which a test checks against
``keys_markdown()``). Each key is one of:

- ``APPLIED``: read into the spec, then passed to the engine or implemented;
- ``WARNED``: accepted, with a one-line warning saying what differs on a cluster;
- ``REFUSED``: an error, "not supported by Dockyard: <why>".

A key that is not in a table is not Compose at all, and only that is "unknown". Nested
keys are written with dots (``deploy.update_config.delay``); keys of list items
(long-syntax ports and volumes) use the list's name (``ports.target``). Pure data and
pure functions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dockyard.common.spec.errors import Notes, SpecError, show


class Handling(enum.Enum):
    APPLIED = "applied"
    WARNED = "warned"
    REFUSED = "refused"


@dataclass(frozen=True)
class Key:
    """How one key is handled. ``note`` is, for APPLIED, what it does; for WARNED, the
    warning after the key's name; for REFUSED, the reason after "not supported by
    Dockyard:"."""

    handling: Handling
    note: str


def _a(note: str) -> Key:
    return Key(Handling.APPLIED, note)


def _w(note: str) -> Key:
    return Key(Handling.WARNED, note)


def _r(note: str) -> Key:
    return Key(Handling.REFUSED, note)


_ENGINE = "passed to the engine"
_NOT_APPLIED = "is not applied yet: the engine's default is used"
_ONE_NODE = "tasks of different services may run on different nodes"
_WINDOWS = "Dockyard runs Linux containers only"
_NOT_AGENT = "is not passed to the engine yet; the engine's default is used"

TOP_LEVEL: dict[str, Key] = {
    "name": _a("the app name"),
    "version": _w("is ignored: it is obsolete, and the current format is read"),
    "services": _a("the app's services"),
    "volumes": _a("named volumes: node-local ones stay with their data's node once a task "
                  "ran there; with driver or driver_opts, made on any node, never bound"),
    "networks": _a("app networks: a service reaches another only on a network they share, "
                   "and apps never reach each other's tasks"),
    "secrets": _a("kept in etcd, delivered only to nodes that run a service using them"),
    "configs": _a("kept in etcd, delivered only to nodes that run a service using them"),
    "include": _a("other Compose files merged into this one"),
    "models": _r("AI models are not provided by Dockyard"),
}

SERVICE: dict[str, Key] = {
    "annotations": _w(_NOT_AGENT),
    "attach": _w("is ignored: the logs of every task are kept (dockyard logs)"),
    "blkio_config": _w("is not applied: block I/O limits are not passed to the engine"),
    "build": _a(
        "built by apply (here, or on a node when no engine is here), pushed to the "
        "cluster's registry, run by digest; an unchanged context is not built again"
    ),
    "cap_add": _a(f"{_ENGINE}; needs --allow capabilities"),
    "cap_drop": _a(_ENGINE),
    "cgroup": _w(_NOT_APPLIED),
    "cgroup_parent": _w("is ignored: the node's engine places containers in its own cgroups"),
    "command": _a(_ENGINE),
    "configs": _a("files delivered into the containers"),
    "container_name": _w("is ignored: replicas get their own names"),
    "cpu_count": _r(_WINDOWS),
    "cpu_percent": _r(_WINDOWS),
    "cpu_period": _w(_NOT_APPLIED),
    "cpu_quota": _w(_NOT_APPLIED),
    "cpu_rt_period": _w(_NOT_APPLIED),
    "cpu_rt_runtime": _w(_NOT_APPLIED),
    "cpu_shares": _w(_NOT_APPLIED),
    "cpus": _a("the CPU limit (deploy.resources.limits.cpus)"),
    "cpuset": _w("is not applied: a task may land on any node, whose CPUs differ"),
    "credential_spec": _r(_WINDOWS),
    "depends_on": _a("start order and health gates"),
    "deploy": _a("replicas, resources, restart policy, placement, rolling updates"),
    "develop": _w("is ignored: file watching is for a local engine, not a cluster"),
    "device_cgroup_rules": _a(f"{_ENGINE}; needs --allow devices"),
    "devices": _a(f"{_ENGINE}; needs --allow devices"),
    "dns": _a(
        f"{_ENGINE} after Dockyard's own resolver, which answers app names and stays first"
    ),
    "dns_opt": _a(_ENGINE),
    "dns_search": _a(f"{_ENGINE} after the app's own search domain"),
    "domainname": _a(_ENGINE),
    "driver_opts": _w("is ignored: per-service network driver options are not used"),
    "entrypoint": _a(_ENGINE),
    "env_file": _a("read when the file is loaded, merged into environment"),
    "environment": _a(_ENGINE),
    "expose": _a("ports open on the app network"),
    "extends": _a("the named service's keys, merged under this one's"),
    "external_links": _r(f"it links to containers outside the app; {_ONE_NODE}"),
    "extra_hosts": _a(_ENGINE),
    "gpus": _r("the scheduler does not place GPUs"),
    "group_add": _a(_ENGINE),
    "healthcheck": _a("run by the engine; gates dependents and rolling updates"),
    "hostname": _a(_ENGINE),
    "image": _a("the image each task runs"),
    "init": _a(_ENGINE),
    "ipc": _a(f"{_ENGINE}; \"host\" needs --allow host-namespaces"),
    "isolation": _r(_WINDOWS),
    "label_file": _a("read when the file is loaded, merged into labels"),
    "labels": _a(_ENGINE),
    "links": _w("is ignored: every service reaches the others by name on the app network"),
    "logging": _a(_ENGINE),
    "mac_address": _w("is ignored: replicas cannot share one MAC address"),
    "mem_limit": _a("the memory limit (deploy.resources.limits.memory)"),
    "mem_reservation": _a("the memory reservation (deploy.resources.reservations.memory)"),
    "mem_swappiness": _w(_NOT_APPLIED),
    "memswap_limit": _w(_NOT_APPLIED),
    "models": _r("AI models are not provided by Dockyard"),
    "network_mode": _a(
        f"\"host\", \"none\" and \"bridge\" are {_ENGINE} (\"host\" needs --allow "
        "host-namespaces, and its ports are kept one task per node); \"service:\" and "
        "\"container:\" are refused"
    ),
    "networks": _a("the app networks the service joins (\"default\" when none is named)"),
    "oom_kill_disable": _w(_NOT_APPLIED),
    "oom_score_adj": _w(_NOT_APPLIED),
    "pid": _a(f"{_ENGINE}; \"host\" needs --allow host-namespaces"),
    "pids_limit": _a(_ENGINE),
    "platform": _a("checked against the node's architecture, passed to the engine"),
    "ports": _a("published through the routing mesh on every node (mode \"host\": only on "
                "the node that runs the task)"),
    "post_start": _r("lifecycle hooks are not run by Dockyard's agents"),
    "pre_stop": _r("lifecycle hooks are not run by Dockyard's agents"),
    "privileged": _a(f"{_ENGINE}; needs --allow privileged"),
    "profiles": _a("the service runs only when one of its profiles is enabled (--profile)"),
    "provider": _r("provider services are run by Compose plugins, not by Dockyard"),
    "pull_policy": _w("is ignored: a node pulls the image when it does not have it"),
    "read_only": _a(_ENGINE),
    "restart": _a("the restart policy"),
    "runtime": _w("is ignored: each node uses its engine's default runtime"),
    "scale": _a("the replica count (deploy.replicas)"),
    "secrets": _a("files delivered into the containers"),
    "security_opt": _a(f"{_ENGINE}; unconfined profiles need --allow privileged"),
    "shm_size": _a(_ENGINE),
    "stdin_open": _a(_ENGINE),
    "stop_grace_period": _a("time between the stop signal and SIGKILL"),
    "stop_signal": _a(_ENGINE),
    "storage_opt": _w(_NOT_APPLIED),
    "sysctls": _a(_ENGINE),
    "tmpfs": _a(_ENGINE),
    "tty": _a(_ENGINE),
    "ulimits": _a(_ENGINE),
    "use_api_socket": _r("it hands the engine's socket to the container"),
    "user": _a(_ENGINE),
    "userns_mode": _a(f"{_ENGINE}; \"host\" needs --allow host-namespaces"),
    "uts": _a(f"{_ENGINE}; \"host\" needs --allow host-namespaces"),
    "volumes": _a("mounts; a node-local named volume binds its tasks to its data's node"),
    "volumes_from": _r(_ONE_NODE),
    "working_dir": _a(_ENGINE),
    "x-dockyard": _a("Dockyard's own settings (max_per_node; volumes: recreate lets tasks "
                     "move to an empty volume)"),
    # deploy
    "deploy.mode": _a('"replicated"; "global" is refused'),
    "deploy.replicas": _a("the number of tasks"),
    "deploy.labels": _a("labels of the service (not its containers), shown by get services"),
    "deploy.endpoint_mode": _w("is ignored: a service's name resolves on the app network"),
    "deploy.resources": _a("limits and reservations"),
    "deploy.resources.limits": _a("enforced by the engine"),
    "deploy.resources.limits.cpus": _a("enforced by the engine"),
    "deploy.resources.limits.memory": _a("enforced by the engine"),
    "deploy.resources.limits.pids": _a("enforced by the engine"),
    "deploy.resources.reservations": _a("what the scheduler books on a node"),
    "deploy.resources.reservations.cpus": _a("booked by the scheduler"),
    "deploy.resources.reservations.memory": _a("booked by the scheduler"),
    "deploy.resources.reservations.devices": _r("the scheduler does not place devices or GPUs"),
    "deploy.resources.reservations.generic_resources": _r("the scheduler does not count them"),
    "deploy.restart_policy": _a("the restart policy"),
    "deploy.restart_policy.condition": _a("when a task restarts"),
    "deploy.restart_policy.delay": _a("the pause before a restart"),
    "deploy.restart_policy.max_attempts": _a("restarts before giving up"),
    "deploy.restart_policy.window": _w("is not applied yet: every restart counts"),
    "deploy.placement": _a("where tasks may run"),
    "deploy.placement.constraints": _a("hard constraints on node name and labels"),
    "deploy.placement.preferences": _a("spread over a node label"),
    "deploy.placement.max_replicas_per_node": _a("at most N tasks per node"),
    "deploy.update_config": _a("how a rolling update proceeds"),
    "deploy.update_config.parallelism": _a("tasks replaced at once"),
    "deploy.update_config.order": _a("stop-first or start-first"),
    "deploy.update_config.delay": _a("the pause after each batch gets ready"),
    "deploy.update_config.failure_action": _a(
        "pause, continue or rollback when new tasks fail (default pause)"),
    "deploy.update_config.monitor": _a("how long a new task is watched for failure "
                                       "(default 5s)"),
    "deploy.update_config.max_failure_ratio": _a("the fraction of tasks that may fail"),
    "deploy.rollback_config": _a("how a rollback proceeds"),
    "deploy.rollback_config.parallelism": _a("tasks rolled back at once"),
    "deploy.rollback_config.delay": _a("the pause after each batch gets ready"),
    "deploy.rollback_config.failure_action": _a("pause or continue when a rollback fails "
                                                "(default pause)"),
    "deploy.rollback_config.monitor": _a("how long a task is watched for failure"),
    "deploy.rollback_config.max_failure_ratio": _a("the fraction of tasks that may fail"),
    "deploy.rollback_config.order": _a("stop-first or start-first"),
    # build
    "build.context": _a("a folder, sent as a tar stream (.dockerignore applies); not a URL"),
    "build.dockerfile": _a("the Dockerfile, relative to the context"),
    "build.args": _a("build arguments"),
    "build.target": _a("the stage to build"),
    "build.dockerfile_inline": _r("write the Dockerfile into the context instead"),
    "build.labels": _w("is not applied yet: image labels are not set"),
    "build.cache_from": _w("is ignored: builds use the building engine's cache"),
    "build.cache_to": _w("is ignored: builds use the building engine's cache"),
    "build.additional_contexts": _r("a build has one context"),
    "build.network": _w("is ignored: builds use the building engine's default network"),
    "build.shm_size": _w("is ignored by the build"),
    "build.extra_hosts": _w("is ignored by the build"),
    "build.isolation": _r(_WINDOWS),
    "build.no_cache": _w("is ignored: an unchanged context is never rebuilt"),
    "build.pull": _w("is ignored: base images are pulled when missing"),
    "build.platforms": _r("a build makes one image, for the building node's platform"),
    "build.privileged": _r("builds never run privileged"),
    "build.secrets": _r("build secrets are not supported yet"),
    "build.ssh": _r("builds do not get an SSH agent"),
    "build.tags": _w("is ignored: the image is pushed as the service's image name, by digest"),
    "build.ulimits": _w("is ignored by the build"),
    "build.entitlements": _r("builds get no extra entitlements"),
    "build.provenance": _w("is ignored by the build"),
    "build.sbom": _w("is ignored by the build"),
    # long-syntax ports
    "ports.target": _a("the container port"),
    "ports.published": _a("the node port"),
    "ports.host_ip": _a("the node address to bind"),
    "ports.protocol": _a("tcp or udp"),
    "ports.mode": _a('"ingress" (the default): every node answers and forwards to a ready '
                     'task; "host": only the node that runs the task'),
    "ports.name": _a("a name for the port, kept in the spec"),
    "ports.app_protocol": _a("the application protocol, kept in the spec"),
    # long-syntax volumes
    "volumes.type": _a("volume, bind or tmpfs; npipe, cluster and image are refused"),
    "volumes.source": _a("the volume name or node path"),
    "volumes.target": _a("the container path"),
    "volumes.read_only": _a(_ENGINE),
    "volumes.consistency": _w("is ignored: it only matters on Docker Desktop"),
    "volumes.bind": _a("bind options"),
    "volumes.bind.propagation": _a(_ENGINE),
    "volumes.bind.create_host_path": _a(_ENGINE),
    "volumes.bind.selinux": _a(_ENGINE),
    "volumes.volume": _a("volume options"),
    "volumes.volume.nocopy": _a(_ENGINE),
    "volumes.volume.subpath": _a(
        f"{_ENGINE}; it needs Docker Engine 26 (API 1.45): apply warns, in one line, of "
        "nodes with an older engine, where its tasks fail rather than mount the whole volume"
    ),
    "volumes.tmpfs": _a("tmpfs options"),
    "volumes.tmpfs.size": _a(_ENGINE),
    "volumes.tmpfs.mode": _a(_ENGINE),
    # healthcheck
    "healthcheck.test": _a(_ENGINE),
    "healthcheck.interval": _a(_ENGINE),
    "healthcheck.timeout": _a(_ENGINE),
    "healthcheck.retries": _a(_ENGINE),
    "healthcheck.start_period": _a(_ENGINE),
    "healthcheck.start_interval": _a(
        f"{_ENGINE}; it needs Docker Engine 25 (API 1.44): apply warns, in one line, of "
        "nodes with an older engine, which use their default"
    ),
    "healthcheck.disable": _a(_ENGINE),
    # logging
    "logging.driver": _a(f"{_ENGINE}; the driver must exist on every node"),
    "logging.options": _a(_ENGINE),
    # per-service network attachment
    "networks.aliases": _a("more names the app's DNS answers with the service's tasks"),
    "networks.ipv4_address": _w("is ignored: task addresses come from each node's subnet"),
    "networks.ipv6_address": _w("is ignored: task addresses come from each node's subnet"),
    "networks.link_local_ips": _w("is ignored"),
    "networks.mac_address": _w("is ignored: replicas cannot share one MAC address"),
    "networks.priority": _w("is ignored: a task has one address on all its networks"),
    "networks.gw_priority": _w("is ignored: a task has one address on all its networks"),
    "networks.interface_name": _w("is ignored: a task has one address on all its networks"),
    "networks.driver_opts": _w("is ignored: a task has one address on all its networks"),
}

NETWORK: dict[str, Key] = {
    "driver": _w("is ignored: every app network is enforced on Dockyard's cluster network"),
    "driver_opts": _w("is ignored: every app network is enforced on Dockyard's cluster "
                      "network"),
    "attachable": _w("is ignored: only the app's own tasks join its network"),
    "enable_ipv4": _w("is ignored: the cluster network is IPv4"),
    "enable_ipv6": _w("is ignored: the cluster network is IPv4"),
    "external": _w("is not joined: an app's networks are its own"),
    "internal": _w("is not applied: tasks still reach addresses outside the cluster"),
    "ipam": _w("is ignored: task addresses come from each node's subnet"),
    "labels": _w("is ignored: no engine network is created for it"),
    "name": _w("is ignored: the network is named by its key in the app"),
}

VOLUME: dict[str, Key] = {
    "driver": _a("the agent creates the volume with it on any node; never bound to one"),
    "driver_opts": _a("the agent creates the volume with exactly these; never bound to one"),
    "external": _a("must exist on the node; never created, nor removed by delete --volumes"),
    "labels": _a("put on the volume, beside Dockyard's own"),
    "name": _a("the volume's name on the nodes (default <app>_<key>)"),
}

SECRET: dict[str, Key] = {
    "file": _a("read when the file is loaded, kept encrypted in etcd"),
    "environment": _a("read from the environment when the file is loaded, kept encrypted "
                      "in etcd"),
    "external": _a("a secret made with `dockyard secret create`; the apply is refused "
                   "when there is none"),
    "name": _a("with external: the name of the secret in the cluster"),
    "labels": _w("is ignored: secrets carry no labels"),
    "driver": _r("secrets are kept in etcd; there are no secret drivers"),
    "driver_opts": _r("secrets are kept in etcd; there are no secret drivers"),
    "template_driver": _r("secrets are delivered as written, without templating"),
}

CONFIG: dict[str, Key] = {
    **{key: value for key, value in SECRET.items() if key not in ("driver", "driver_opts")},
    "external": _a("a config made with `dockyard configs create`; the apply is refused "
                   "when there is none"),
    "name": _a("with external: the name of the config in the cluster"),
    "labels": _w("is ignored: configs carry no labels"),
    "content": _a("kept in etcd"),
    "template_driver": _r("configs are delivered as written, without templating"),
}

TABLES: dict[str, dict[str, Key]] = {
    "top level": TOP_LEVEL,
    "service": SERVICE,
    "network": NETWORK,
    "volume": VOLUME,
    "secret": SECRET,
    "config": CONFIG,
}


def triage(
    body: dict[str, object],
    *,
    table: dict[str, Key],
    path: str = "",
    where: str,
    shown: str | None = None,
) -> tuple[list[str], list[str]]:
    """Sort the keys of ``body`` by the table: (warnings, problems), one line each.

    ``path`` is the dotted prefix of ``body`` in the table (``"deploy"``), ``where``
    names the object in messages (``service "web"``), ``shown`` is the prefix as the
    user wrote it (``"ports[2]"``; default ``path``). Keys starting with ``x-`` are
    extensions and always pass. APPLIED keys give nothing here: their parsers read
    them. Pure.
    """
    warnings: list[str] = []
    problems: list[str] = []
    prefix = path if shown is None else shown
    for key in body:
        if not isinstance(key, str) or key.startswith("x-"):
            continue
        dotted = f"{path}.{key}" if path else key
        named = f"{prefix}.{key}" if prefix else key
        entry = table.get(dotted)
        if entry is None:
            problems.append(f"{where}: unknown key {show(named)}")
        elif entry.handling is Handling.REFUSED:
            problems.append(f"{where}: {show(named)} is not supported by Dockyard: {entry.note}")
        elif entry.handling is Handling.WARNED:
            warnings.append(f"{where}: {show(named)} {entry.note}")
    return warnings, problems


def check_table(
    body: dict[str, object], *, table: dict[str, Key], path: str, where: str, notes: Notes
) -> None:
    """``triage`` for a nested mapping: warnings go to ``notes``, problems are raised.

    ``where`` is as the parsers write it, ``service "web": ports[0]``; the part after
    the last ``": "`` is the key path shown to the user.
    """
    head, sep, shown = where.rpartition(": ")
    if not sep:
        head, shown = where, path
    warnings, problems = triage(body, table=table, path=path, where=head, shown=shown)
    notes.warnings.extend(warnings)
    if problems:
        raise SpecError.many(problems)


def keys_markdown() -> str:
    """The tables of docs/compose.md, generated from this module. Pure."""
    out: list[str] = []
    for title, table in TABLES.items():
        out.append(f"### Keys of the {title}\n")
        out.append("| key | handling | what Dockyard does |")
        out.append("| --- | --- | --- |")
        for name in sorted(table):
            entry = table[name]
            note = entry.note
            if entry.handling is Handling.REFUSED:
                note = f"not supported by Dockyard: {note}"
            elif entry.handling is Handling.WARNED:
                note = f"warning: {note}"
            note = note.replace("|", "\\|")
            out.append(f"| `{name}` | {entry.handling.value} | {note} |")
        out.append("")
    return "\n".join(out)
