"""Unit level, every key: each key the table (client/compose/keys.py) marks applied,
nested ones included (`healthcheck.interval`, `volumes.bind.propagation`,
`deploy.update_config.order`, ...), is walked. With the key, the app read from the file
differs from the app without it (the loader keeps it), and a key the table says reaches
the engine also changes the container's create arguments. The list of keys comes from
the table itself, so a key added there without a sample here fails the walk."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dockyard.agent.runtime.docker.create import create_kwargs, start_interval_ns
from dockyard.agent.runtime.driver import CreateRequest
from dockyard.client.compose.compose import load_app
from dockyard.client.compose.keys import SERVICE, Handling
from dockyard.common.spec.errors import SpecError
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.agent.test_compose_key_walk import SAMPLES as ENGINE_SAMPLES

# Top-level objects every walked file has, so services can name them.
TOP: dict[str, Any] = {
    "volumes": {"data": {}}, "networks": {"front": {}},
    "secrets": {"token": {"file": "token.txt"}}, "configs": {"site": {"content": "x"}},
}
FILES = {"token.txt": b"s3cret\n", "a.env": b"FROM_FILE=1\n", "a.labels": b"team=a\n"}

BIND: dict[str, Any] = {"type": "bind", "source": "/srv/site", "target": "/site"}
VOLUME: dict[str, Any] = {"type": "volume", "source": "data", "target": "/data"}
TMPFS: dict[str, Any] = {"type": "tmpfs", "target": "/scratch"}
HEALTH: dict[str, Any] = {"test": ["CMD", "true"]}
PORT: dict[str, Any] = {"target": 80, "published": 8080}


def _with(base: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**base, **extra}


def _deploy(part: str, base: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], ...]:
    return ({"deploy": {part: base}}, {"deploy": {part: _with(base, **extra)}})


# Applied keys besides ENGINE_SAMPLES: key -> (service keys without it, with it).
PAIRS: dict[str, tuple[dict[str, Any], ...]] = {
    "build": ({}, {"build": {"context": "."}}),
    "configs": ({}, {"configs": ["site"]}),
    "depends_on": ({}, {"depends_on": ["db"]}),
    "deploy": ({}, {"deploy": {"replicas": 2}}),
    "env_file": ({}, {"env_file": ["a.env"]}),
    "expose": ({}, {"expose": ["80"]}),
    "extends": ({}, {"extends": {"service": "db"}}),
    "healthcheck": ({}, {"healthcheck": HEALTH}),
    "image": ({}, {"image": "nginx:1.27"}),
    "label_file": ({}, {"label_file": ["a.labels"]}),
    "mem_reservation": ({}, {"mem_reservation": "32m"}),
    "networks": ({}, {"networks": ["front"]}),
    "ports": ({}, {"ports": ["8080:80"]}),
    "profiles": ({}, {"profiles": ["debug"]}),
    "restart": ({}, {"restart": "on-failure"}),
    "scale": ({}, {"scale": 3}),
    "secrets": ({}, {"secrets": ["token"]}),
    "stop_grace_period": ({}, {"stop_grace_period": "42s"}),
    "volumes": ({}, {"volumes": ["data:/data"]}),
    "x-dockyard": ({}, {"x-dockyard": {"max_per_node": 1}}),
    "build.context": ({"build": {"context": "."}}, {"build": {"context": "web"}}),
    "build.dockerfile": ({"build": {"context": "."}},
                         {"build": {"context": ".", "dockerfile": "Dockerfile.prod"}}),
    "build.args": ({"build": {"context": "."}}, {"build": {"context": ".", "args": {"A": "1"}}}),
    "build.target": ({"build": {"context": "."}}, {"build": {"context": ".", "target": "prod"}}),
    "deploy.replicas": ({"deploy": {}}, {"deploy": {"replicas": 3}}),
    "deploy.labels": ({"deploy": {}}, {"deploy": {"labels": {"tier": "web"}}}),
    "deploy.resources": ({"deploy": {}}, {"deploy": {"resources": {"limits": {"pids": 9}}}}),
    "deploy.resources.limits": _deploy("resources", {}, limits={"memory": "64m"}),
    "deploy.resources.limits.cpus": _deploy("resources", {"limits": {}},
                                            limits={"cpus": "0.5"}),
    "deploy.resources.limits.memory": _deploy("resources", {"limits": {}},
                                              limits={"memory": "64m"}),
    "deploy.resources.limits.pids": _deploy("resources", {"limits": {}}, limits={"pids": 50}),
    "deploy.resources.reservations": _deploy("resources", {}, reservations={"cpus": "0.5"}),
    "deploy.resources.reservations.cpus": _deploy("resources", {"reservations": {}},
                                                  reservations={"cpus": "0.5"}),
    "deploy.resources.reservations.memory": _deploy("resources", {"reservations": {}},
                                                    reservations={"memory": "64m"}),
    "deploy.restart_policy": ({"deploy": {}},
                              {"deploy": {"restart_policy": {"condition": "on-failure"}}}),
    "deploy.restart_policy.condition": _deploy("restart_policy", {}, condition="none"),
    "deploy.restart_policy.delay": _deploy("restart_policy", {}, delay="7s"),
    "deploy.restart_policy.max_attempts": _deploy("restart_policy", {}, max_attempts=4),
    "deploy.placement": ({"deploy": {}},
                         {"deploy": {"placement": {"constraints": ["node.labels.ssd==1"]}}}),
    "deploy.placement.constraints": _deploy("placement", {},
                                            constraints=["node.hostname==h1"]),
    "deploy.placement.preferences": _deploy("placement", {},
                                            preferences=[{"spread": "node.labels.zone"}]),
    "deploy.placement.max_replicas_per_node": _deploy("placement", {},
                                                      max_replicas_per_node=1),
    "deploy.update_config": ({"deploy": {}}, {"deploy": {"update_config": {"parallelism": 2}}}),
    "deploy.rollback_config": ({"deploy": {}},
                               {"deploy": {"rollback_config": {"parallelism": 2}}}),
    **{f"deploy.{part}.{key}": _deploy(part, {}, **{key: value})
       for part in ("update_config", "rollback_config")
       for key, value in [("parallelism", 3), ("order", "start-first"), ("delay", "9s"),
                          ("failure_action", "continue"), ("monitor", "11s"),
                          ("max_failure_ratio", 0.5)]},
    "ports.target": ({"ports": [PORT]}, {"ports": [_with(PORT, target=81)]}),
    "ports.published": ({"ports": [{"target": 80}]}, {"ports": [PORT]}),
    "ports.host_ip": ({"ports": [PORT]}, {"ports": [_with(PORT, host_ip="127.0.0.1")]}),
    "ports.protocol": ({"ports": [PORT]}, {"ports": [_with(PORT, protocol="udp")]}),
    "ports.mode": ({"ports": [PORT]}, {"ports": [_with(PORT, mode="host")]}),
    "ports.name": ({"ports": [PORT]}, {"ports": [_with(PORT, name="web")]}),
    "ports.app_protocol": ({"ports": [PORT]}, {"ports": [_with(PORT, app_protocol="http")]}),
    "volumes.type": ({"volumes": [VOLUME]}, {"volumes": [_with(BIND, target="/data")]}),
    "volumes.source": ({"volumes": [BIND]}, {"volumes": [_with(BIND, source="/srv/other")]}),
    "volumes.target": ({"volumes": [BIND]}, {"volumes": [_with(BIND, target="/other")]}),
    "volumes.read_only": ({"volumes": [BIND]}, {"volumes": [_with(BIND, read_only=True)]}),
    "volumes.bind": ({"volumes": [BIND]},
                     {"volumes": [_with(BIND, bind={"propagation": "rshared"})]}),
    "volumes.bind.propagation": ({"volumes": [_with(BIND, bind={})]},
                                 {"volumes": [_with(BIND, bind={"propagation": "rslave"})]}),
    "volumes.bind.create_host_path": (
        {"volumes": [_with(BIND, bind={})]},
        {"volumes": [_with(BIND, bind={"create_host_path": False})]}),
    "volumes.bind.selinux": ({"volumes": [_with(BIND, bind={})]},
                             {"volumes": [_with(BIND, bind={"selinux": "z"})]}),
    "volumes.volume": ({"volumes": [VOLUME]},
                       {"volumes": [_with(VOLUME, volume={"nocopy": True})]}),
    "volumes.volume.nocopy": ({"volumes": [_with(VOLUME, volume={})]},
                              {"volumes": [_with(VOLUME, volume={"nocopy": True})]}),
    "volumes.volume.subpath": ({"volumes": [_with(VOLUME, volume={})]},
                               {"volumes": [_with(VOLUME, volume={"subpath": "site"})]}),
    "volumes.tmpfs": ({"volumes": [TMPFS]}, {"volumes": [_with(TMPFS, tmpfs={"size": 4096})]}),
    "volumes.tmpfs.size": ({"volumes": [_with(TMPFS, tmpfs={})]},
                           {"volumes": [_with(TMPFS, tmpfs={"size": 4096})]}),
    "volumes.tmpfs.mode": ({"volumes": [_with(TMPFS, tmpfs={})]},
                           {"volumes": [_with(TMPFS, tmpfs={"mode": 0o700})]}),
    "healthcheck.test": ({"healthcheck": HEALTH},
                         {"healthcheck": {"test": ["CMD", "wget", "-q", "localhost"]}}),
    **{f"healthcheck.{key}": ({"healthcheck": HEALTH},
                              {"healthcheck": _with(HEALTH, **{key: value})})
       for key, value in [("interval", "7s"), ("timeout", "3s"), ("retries", 7),
                          ("start_period", "13s"), ("start_interval", "2s")]},
    "healthcheck.disable": ({"healthcheck": HEALTH}, {"healthcheck": {"disable": True}}),
    "logging.driver": ({"logging": {"options": {"max-size": "1m"}}},
                       {"logging": {"driver": "local", "options": {"max-size": "1m"}}}),
    "logging.options": ({"logging": {"driver": "json-file"}},
                        {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}}),
    "networks.aliases": ({"networks": {"front": {}}},
                         {"networks": {"front": {"aliases": ["www"]}}}),
}

APPLIED = sorted(k for k, v in SERVICE.items() if v.handling is Handling.APPLIED)
# "replicated" is the only value Dockyard takes, and the default: the other is refused.
DEFAULT_ONLY = {"deploy.mode": ({"deploy": {"mode": "global"}})}


def _engine(key: str) -> bool:
    note = SERVICE[key].note
    return key in ENGINE_SAMPLES or "passed to the engine" in note or "by the engine" in note


def _load(service: dict[str, Any]) -> Any:
    doc = {"services": {"web": {"image": "busybox", **service},
                        "db": {"image": "postgres:16", "environment": {"B": "2"}}}, **TOP}
    return load_app(yaml.safe_dump(doc), read_file=lambda name: FILES.get(name, b""),
                    default_name="walk")


def _create(app: specs_pb2.AppSpec) -> tuple[dict[str, Any], int]:
    """What the driver sends the engine: the SDK's create arguments, and the healthcheck's
    start interval, which the driver adds to the request itself (the SDK cannot say it)."""
    spec = next(s for s in app.services if s.name == "web")
    task = objects_pb2.Task(app="walk", service="web", slot=1, spec=spec)
    task.meta.id = "t1"
    files = {f"walk/{o.name}": f"/run/dockyard/{o.name}" for o in [*app.secrets, *app.configs]}
    kw = create_kwargs(CreateRequest(task=task, node="n1", files=files, resolver="10.9.0.1",
                                     search="walk.dockyard", network="dy-walk"))
    return kw, start_interval_ns(spec)


def test_every_applied_key_is_walked() -> None:
    walked = set(ENGINE_SAMPLES) | set(PAIRS) | set(DEFAULT_ONLY)
    assert [k for k in APPLIED if k not in walked] == []


@pytest.mark.parametrize("key", [k for k in APPLIED if k not in DEFAULT_ONLY])
def test_an_applied_key_is_kept_and_reaches_the_engine_when_it_says_so(key: str) -> None:
    without, with_key = PAIRS.get(key) or ({}, {key: ENGINE_SAMPLES[key]})
    before, after = _load(without), _load(with_key)
    assert after.spec != before.spec, f"{key} is dropped by the loader"
    assert not [w for w in after.warnings if w not in before.warnings], after.warnings
    if _engine(key):
        assert _create(after.spec) != _create(before.spec), f"{key} does not reach the engine"


@pytest.mark.parametrize("key", sorted(DEFAULT_ONLY))
def test_a_key_whose_only_value_is_the_default_refuses_the_others(key: str) -> None:
    with pytest.raises(SpecError, match="not supported by Dockyard"):
        _load(DEFAULT_ONLY[key])
