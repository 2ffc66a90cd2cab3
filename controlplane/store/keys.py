"""The etcd key layout, in one place. Pure functions: no I/O.

    /dockyard/apps/<app>                    App (spec + hash)
    /dockyard/services/<app>/<service>      Service (spec + status)
    /dockyard/tasks/<app>/<task-id>         Task (spec copy, node, desired state)
    /dockyard/status/<app>/<task-id>        TaskStatus, written only from agent reports
    /dockyard/nodes/<node>                  Node (description, availability, state)
    /dockyard/alive/<node>                  empty; attached to the node's liveness lease
    /dockyard/events/<app>/<ms>-<seq>       Event, trimmed to the newest few hundred
    /dockyard/history/<app>/<number>        AppVersion: the last 10 applied specs
    /dockyard/cluster/<name>                cluster-wide settings (join token, ...)
    /dockyard/subnets/<a.b.c.d-24>          node name: the claim on a node's subnet
    /dockyard/secrets/<name>                StoredFile, content sealed (controlplane/files/)
    /dockyard/configs/<name>                StoredFile, content plain; <name> is NAME for
                                            a created object, APP/NAME for an app's own
    /dockyard/volumes/<app>/<volume>        Volume: the node holding a volume's data
    /dockyard/unreachable/<node>            session id: the replica holding that session
                                            lost its stream (on that replica's lease)

Task status lives beside the task, not inside it, so that agent reports never race with
the control plane's own writes to a task: each writer owns its keys.
"""

from __future__ import annotations

ROOT = "/dockyard/"
APPS = ROOT + "apps/"
SERVICES = ROOT + "services/"
TASKS = ROOT + "tasks/"
STATUS = ROOT + "status/"
NODES = ROOT + "nodes/"
ALIVE = ROOT + "alive/"
EVENTS = ROOT + "events/"
HISTORY = ROOT + "history/"  # sorts right after EVENTS: the mirror skips both at once
CLUSTER = ROOT + "cluster/"
SUBNETS = ROOT + "subnets/"
FILES = {"secret": ROOT + "secrets/", "config": ROOT + "configs/"}
VOLUMES = ROOT + "volumes/"
UNREACHABLE = ROOT + "unreachable/"


def app_key(app: str) -> str:
    return f"{APPS}{app}"


def service_key(app: str, service: str) -> str:
    return f"{SERVICES}{app}/{service}"


def services_prefix(app: str) -> str:
    return f"{SERVICES}{app}/"


def task_key(app: str, task_id: str) -> str:
    return f"{TASKS}{app}/{task_id}"


def tasks_prefix(app: str) -> str:
    return f"{TASKS}{app}/"


def status_key(app: str, task_id: str) -> str:
    return f"{STATUS}{app}/{task_id}"


def status_prefix(app: str) -> str:
    return f"{STATUS}{app}/"


def node_key(node: str) -> str:
    return f"{NODES}{node}"


def alive_key(node: str) -> str:
    return f"{ALIVE}{node}"


def unreachable_key(node: str) -> str:
    return f"{UNREACHABLE}{node}"


def event_key(app: str, ms: int, seq: int) -> str:
    return f"{EVENTS}{app or '_'}/{ms:015d}-{seq:06d}"


def events_prefix(app: str) -> str:
    return f"{EVENTS}{app or '_'}/"


def history_key(app: str, number: int) -> str:
    return f"{HISTORY}{app}/{number:012d}"


def history_prefix(app: str) -> str:
    return f"{HISTORY}{app}/"


def cluster_key(name: str) -> str:
    return f"{CLUSTER}{name}"


def last_segment(key: str) -> str:
    """The final path segment of a key: the object's own name or id."""
    return key.rsplit("/", 1)[-1]


def subnet_key(claim: str) -> str:
    """The claim key of a node subnet (`claim` as `subnets.claim_name` makes it)."""
    return f"{SUBNETS}{claim}"


def file_key(kind: str, name: str) -> str:
    """The key of a secret or config ("secret"/"config"); `name` may be "APP/NAME"."""
    return f"{FILES[kind]}{name}"


def volume_key(app: str, volume: str) -> str:
    """The record of where an app's named volume lives."""
    return f"{VOLUMES}{app}/{volume}"


def volumes_prefix(app: str) -> str:
    return f"{VOLUMES}{app}/"
