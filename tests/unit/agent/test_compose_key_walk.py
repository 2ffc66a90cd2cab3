"""Unit level: no Compose service key is silently dropped between the key
table (client/compose/keys.py) and the container's create arguments. Every key the
table says is "passed to the engine" changes the create arguments; every "warned" key
gives a warning."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dockyard.agent.runtime.docker.create import create_kwargs
from dockyard.agent.runtime.driver import CreateRequest
from dockyard.client.compose.compose import load_app
from dockyard.client.compose.keys import SERVICE, Handling
from dockyard.v1 import objects_pb2

# One value per key the table marks "passed to the engine" (a user's typical value).
SAMPLES: dict[str, Any] = {
    "cap_add": ["NET_ADMIN"], "cap_drop": ["MKNOD"], "command": ["sleep", "1"],
    "device_cgroup_rules": ["c 10:229 rwm"], "devices": ["/dev/fuse"], "dns": ["10.0.0.53"],
    "dns_opt": ["ndots:1"], "dns_search": ["corp"], "domainname": "example.test",
    "entrypoint": ["/bin/sh"], "environment": {"A": "1"}, "extra_hosts": ["db:10.1.2.3"],
    "group_add": ["audio"], "hostname": "h", "init": True, "ipc": "shareable",
    "labels": {"team": "a"}, "logging": {"driver": "local"}, "network_mode": "none",
    "pid": "host", "pids_limit": 50, "privileged": True, "read_only": True,
    "security_opt": ["no-new-privileges:true"], "shm_size": "64m", "stdin_open": True,
    "stop_signal": "SIGINT", "sysctls": {"net.core.somaxconn": "1024"},
    "tmpfs": ["/cache"], "tty": True, "ulimits": {"nofile": 1024}, "user": "1000",
    "userns_mode": "host", "uts": "host", "working_dir": "/srv", "platform": "linux/amd64",
    "mem_limit": "64m", "cpus": 0.5,
}

# A valid value for warned keys that do not take any string.
WARNED_VALUES: dict[str, Any] = {"networks": ["default"]}

ENGINE_KEYS = sorted(k for k, v in SERVICE.items()
                     if "." not in k and v.handling is Handling.APPLIED
                     and ("passed to the engine" in v.note or k in SAMPLES))
WARNED_KEYS = sorted(k for k, v in SERVICE.items()
                     if "." not in k and v.handling is Handling.WARNED)


def _kwargs_and_warnings(extra: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    doc = {"services": {"web": {"image": "busybox", **extra}}}
    loaded = load_app(yaml.safe_dump(doc), read_file=lambda _: b"", default_name="walk")
    task = objects_pb2.Task(app="walk", service="web", slot=1, spec=loaded.spec.services[0])
    task.meta.id = "t1"
    kw = create_kwargs(CreateRequest(task=task, node="n1", resolver="10.9.0.1",
                                     search="walk.dockyard", network="dy-walk"))
    return kw, list(loaded.warnings)


def test_every_engine_key_has_a_sample() -> None:
    assert [k for k in ENGINE_KEYS if k not in SAMPLES] == []


@pytest.mark.parametrize("key", ENGINE_KEYS)
def test_applied_key_changes_the_create_arguments(key: str) -> None:
    base, _ = _kwargs_and_warnings({})
    kw, _ = _kwargs_and_warnings({key: SAMPLES[key]})
    assert kw != base, f"{key} does not reach the engine"


@pytest.mark.parametrize("key", WARNED_KEYS)
def test_warned_key_gives_a_warning(key: str) -> None:
    doc_value = WARNED_VALUES.get(key, "x")
    _, warnings = _kwargs_and_warnings({key: doc_value})
    assert any(key in w for w in warnings), f"{key}: no warning"

