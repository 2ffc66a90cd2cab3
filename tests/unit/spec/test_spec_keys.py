"""Every supported service key, one table row each: what the spec holds afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.v1 import specs_pb2

from .helpers import load_doc, load_service, load_text, service_doc

S = specs_pb2


def _ports(*items: tuple[int, int, str, str], mode: str = "ingress") -> list[S.PortMapping]:
    return [
        S.PortMapping(container_port=c, host_port=h, protocol=p, host_ip=i, mode=mode if h else "")
        for h, c, p, i in items
    ]


CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("image", {}, "image", "nginx:1.25"),
    (
        "command string",
        {"command": "nginx -g 'daemon off;'"},
        "command.args",
        ["nginx", "-g", "daemon off;"],
    ),
    ("command list", {"command": ["a", 1, True]}, "command.args", ["a", "1", "true"]),
    ("command empty", {"command": []}, "command.args", []),
    ("entrypoint string", {"entrypoint": "/bin/sh -c"}, "entrypoint.args", ["/bin/sh", "-c"]),
    ("entrypoint list", {"entrypoint": ["tini", "--"]}, "entrypoint.args", ["tini", "--"]),
    (
        "environment list",
        {"environment": ["A=1", "B", "C=x=y"]},
        "environment",
        {"A": "1", "B": "", "C": "x=y"},
    ),
    (
        "environment mapping",
        {"environment": {"A": 1, "B": None, "C": True, "D": 1.5, "E": "s"}},
        "environment",
        {"A": "1", "B": "", "C": "true", "D": "1.5", "E": "s"},
    ),
    (
        "env_file string",
        {"env_file": "./web.env"},
        "environment",
        {"A": "1", "B": "two words", "C": "x\ny", "D": "plain", "E": ""},
    ),
    (
        "env_file list, environment wins",
        {"env_file": ["./web.env", "./override.env"], "environment": {"E": "set"}},
        "environment",
        {"A": "from-second-file", "B": "two words", "C": "x\ny", "D": "plain", "E": "set"},
    ),
    (
        "env_file optional missing",
        {"env_file": [{"path": "./missing.env", "required": False}, {"path": "./override.env"}]},
        "environment",
        {"A": "from-second-file"},
    ),
    ("ports short", {"ports": ["8080:80"]}, "ports", _ports((8080, 80, "tcp", ""))),
    (
        "ports container only",
        {"ports": ["80", 81]},
        "ports",
        _ports((0, 80, "tcp", ""), (0, 81, "tcp", "")),
    ),
    (
        "ports host ip",
        {"ports": ["127.0.0.1:8080:80"]},
        "ports",
        _ports((8080, 80, "tcp", "127.0.0.1")),
    ),
    ("ports ipv6 host ip", {"ports": ["[::1]:8080:80"]}, "ports", _ports((8080, 80, "tcp", "::1"))),
    ("ports udp", {"ports": ["5353:53/udp"]}, "ports", _ports((5353, 53, "udp", ""))),
    (
        "ports range",
        {"ports": ["8000-8001:80-81"]},
        "ports",
        _ports((8000, 80, "tcp", ""), (8001, 81, "tcp", "")),
    ),
    (
        "ports long",
        {
            "ports": [
                {
                    "target": 80,
                    "published": "8080",
                    "protocol": "udp",
                    "host_ip": "10.0.0.1",
                    "mode": "host",
                }
            ]
        },
        "ports",
        _ports((8080, 80, "udp", "10.0.0.1"), mode="host"),
    ),
    (
        "expose",
        {"expose": ["80", 443, "53/udp", "9000-9001"]},
        "expose",
        ["80", "443", "53/udp", "9000", "9001"],
    ),
    ("labels list", {"labels": ["a=1", "b"]}, "labels", {"a": "1", "b": ""}),
    ("labels mapping", {"labels": {"a": 1}}, "labels", {"a": "1"}),
    ("user", {"user": 1000}, "user", "1000"),
    ("working_dir", {"working_dir": "/srv"}, "working_dir", "/srv"),
    ("hostname", {"hostname": "web1"}, "hostname", "web1"),
    ("stop_signal", {"stop_signal": "SIGQUIT"}, "stop_signal", "SIGQUIT"),
    ("stop_grace_period", {"stop_grace_period": "1m30s"}, "stop_grace_period_ms", 90_000),
    ("cap_add", {"cap_add": ["NET_ADMIN"]}, "cap_add", ["NET_ADMIN"]),
    ("cap_drop", {"cap_drop": ["ALL"]}, "cap_drop", ["ALL"]),
    (
        "volumes short",
        {"volumes": ["data:/var/lib/x:ro", "/abs//dir:/srv", "/anon", "./rel:/rel:rw"]},
        "volumes",
        [
            S.VolumeMount(type="volume", source="data", target="/var/lib/x", read_only=True),
            S.VolumeMount(type="bind", source="/abs/dir", target="/srv"),
            S.VolumeMount(type="volume", target="/anon"),
            S.VolumeMount(type="bind", source="./rel", target="/rel"),
        ],
    ),
    (
        "volumes long",
        {
            "volumes": [
                {"type": "volume", "source": "data", "target": "/d", "read_only": True},
                {"type": "bind", "source": "/etc/x", "target": "/x"},
                {"type": "tmpfs", "target": "/tmp"},
            ]
        },
        "volumes",
        [
            S.VolumeMount(type="volume", source="data", target="/d", read_only=True),
            S.VolumeMount(type="bind", source="/etc/x", target="/x"),
            S.VolumeMount(type="tmpfs", target="/tmp"),
        ],
    ),
    (
        "healthcheck string",
        {
            "healthcheck": {
                "test": "curl -f http://localhost/",
                "interval": "10s",
                "timeout": "2s",
                "retries": 3,
                "start_period": "1m",
            }
        },
        "healthcheck",
        S.HealthCheck(
            test=["CMD-SHELL", "curl -f http://localhost/"],
            interval_ms=10_000,
            timeout_ms=2000,
            retries=3,
            start_period_ms=60_000,
        ),
    ),
    (
        "healthcheck list",
        {"healthcheck": {"test": ["CMD", "pg_isready"]}},
        "healthcheck",
        S.HealthCheck(test=["CMD", "pg_isready"]),
    ),
    (
        "healthcheck disable",
        {"healthcheck": {"disable": True}},
        "healthcheck",
        S.HealthCheck(test=["NONE"], disable=True),
    ),
    (
        "healthcheck NONE",
        {"healthcheck": {"test": ["NONE"]}},
        "healthcheck",
        S.HealthCheck(test=["NONE"], disable=True),
    ),
    ("restart default", {}, "restart_policy", S.RestartPolicy(condition=S.RESTART_ANY)),
    ("restart no", {"restart": "no"}, "restart_policy", S.RestartPolicy(condition=S.RESTART_NONE)),
    (
        "restart always",
        {"restart": "always"},
        "restart_policy",
        S.RestartPolicy(condition=S.RESTART_ANY),
    ),
    (
        "restart unless-stopped",
        {"restart": "unless-stopped"},
        "restart_policy",
        S.RestartPolicy(condition=S.RESTART_ANY),
    ),
    (
        "restart on-failure:3",
        {"restart": "on-failure:3"},
        "restart_policy",
        S.RestartPolicy(condition=S.RESTART_ON_FAILURE, max_attempts=3),
    ),
    ("networks list", {"networks": ["front", "default"]}, "networks", ["front", "default"]),
    ("networks mapping", {"networks": {"front": None}}, "networks", ["front"]),
    ("secrets short", {"secrets": ["pw"]}, "secrets", [S.FileReference(source="pw")]),
    (
        "secrets long",
        {
            "secrets": [
                {"source": "pw", "target": "/run/secrets/db", "uid": "1", "gid": 2, "mode": "0440"}
            ]
        },
        "secrets",
        [S.FileReference(source="pw", target="/run/secrets/db", uid="1", gid="2", mode=0o440)],
    ),
    ("configs short", {"configs": ["conf"]}, "configs", [S.FileReference(source="conf")]),
    (
        "configs long",
        {"configs": [{"source": "conf", "target": "/etc/app.conf", "mode": 292}]},
        "configs",
        [S.FileReference(source="conf", target="/etc/app.conf", mode=0o444)],
    ),
    ("replicas default", {}, "replicas", 1),
    ("deploy replicas", {"deploy": {"replicas": 3}}, "replicas", 3),
    ("deploy replicas zero", {"deploy": {"replicas": 0}}, "replicas", 0),
    (
        "deploy limits",
        {"deploy": {"resources": {"limits": {"cpus": "1.5", "memory": "1g"}}}},
        "limits",
        S.Resources(cpu_millis=1500, memory_bytes=1024**3),
    ),
    (
        "deploy reservations",
        {"deploy": {"resources": {"reservations": {"cpus": 0.25, "memory": "256M"}}}},
        "reservations",
        S.Resources(cpu_millis=250, memory_bytes=256 * 1024**2),
    ),
    (
        "deploy restart_policy",
        {
            "deploy": {
                "restart_policy": {
                    "condition": "on-failure",
                    "delay": "5s",
                    "max_attempts": 3,
                    "window": "2m",
                }
            }
        },
        "restart_policy",
        S.RestartPolicy(
            condition=S.RESTART_ON_FAILURE, delay_ms=5000, max_attempts=3, window_ms=120_000
        ),
    ),
    (
        "deploy restart_policy overrides restart",
        {"restart": "no", "deploy": {"restart_policy": {"condition": "any"}}},
        "restart_policy",
        S.RestartPolicy(condition=S.RESTART_ANY),
    ),
    (
        "deploy placement",
        {
            "deploy": {
                "placement": {
                    "constraints": ["node.hostname==h1", "node.labels.zone != b"],
                    "preferences": [{"spread": "node.labels.rack"}],
                    "max_replicas_per_node": 2,
                }
            }
        },
        "placement",
        S.PlacementSpec(
            constraints=["node.hostname==h1", "node.labels.zone!=b"],
            spread=["node.labels.rack"],
            max_per_node=2,
        ),
    ),
    (
        "deploy update_config",
        {
            "deploy": {
                "update_config": {
                    "parallelism": 2,
                    "delay": "10s",
                    "order": "start-first",
                    "failure_action": "rollback",
                }
            }
        },
        "update_config",
        S.UpdateConfig(
            parallelism=2, delay_ms=10_000, order="start-first", failure_action="rollback"
        ),
    ),
    (
        "deploy update_config monitor and ratio",
        {"deploy": {"update_config": {"monitor": "30s", "max_failure_ratio": 0.25}}},
        "update_config",
        S.UpdateConfig(monitor_ms=30_000, max_failure_ratio=0.25),
    ),
    (
        "deploy rollback_config",
        {"deploy": {"rollback_config": {"parallelism": 0, "delay": "1s", "order": "stop-first",
                                        "failure_action": "continue", "monitor": "0s"}}},
        "rollback_config",
        S.UpdateConfig(delay_ms=1000, order="stop-first", failure_action="continue",
                       monitor_ms=0),
    ),
    ("deploy mode replicated", {"deploy": {"mode": "replicated"}}, "replicas", 1),
    ("x-dockyard max_per_node", {"x-dockyard": {"max_per_node": 2}}, "placement.max_per_node", 2),
    ("x- extension ignored", {"x-anything": {"whatever": [1]}}, "image", "nginx:1.25"),
    ("container_name accepted", {"container_name": "web"}, "image", "nginx:1.25"),
    ("build with image accepted", {"build": "."}, "image", "nginx:1.25"),
]


def _get(message: Any, path: str) -> Any:
    for part in path.split("."):
        message = getattr(message, part)
    if hasattr(message, "items"):
        return dict(message.items())
    if hasattr(message, "__len__") and not isinstance(message, str | bytes):
        return list(message)
    return message


@pytest.mark.parametrize(("label", "body", "path", "expected"), CASES, ids=[c[0] for c in CASES])
def test_service_key(label: str, body: dict[str, Any], path: str, expected: Any) -> None:
    assert _get(load_service(body), path) == expected


def test_command_presence() -> None:
    assert not load_service({}).HasField("command")
    assert load_service({"command": []}).HasField("command")
    assert not load_service({}).HasField("healthcheck")


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        (
            ["db"],
            [S.Dependency(service="db", condition=S.SERVICE_STARTED, restart=False, required=True)],
        ),
        ({"db": None}, [S.Dependency(service="db", condition=S.SERVICE_STARTED, required=True)]),
        (
            {"db": {"condition": "service_healthy", "restart": True}},
            [S.Dependency(service="db", condition=S.SERVICE_HEALTHY, restart=True, required=True)],
        ),
        (
            {"db": {"condition": "service_completed_successfully", "required": False}},
            [
                S.Dependency(
                    service="db", condition=S.SERVICE_COMPLETED_SUCCESSFULLY, required=False
                )
            ],
        ),
    ],
)
def test_depends_on(depends_on: Any, expected: list[S.Dependency]) -> None:
    doc = service_doc({"depends_on": depends_on})
    doc["services"]["db"] = {"image": "mariadb:11"}
    assert list(load_doc(doc).spec.services[0].depends_on) == expected


def test_top_level() -> None:
    doc = service_doc({}, name="shop", **{"x-dockyard": {"strategy": "spread", "max_per_node": 3}})
    doc["x-custom"] = {"a": 1}
    loaded = load_doc(doc)
    spec = loaded.spec
    assert spec.name == "shop"
    assert spec.strategy == S.SPREAD
    assert list(spec.volumes) == ["data"]
    assert list(spec.networks) == ["front"]
    assert list(spec.secrets) == [S.FileObject(name="pw", data=b"s3cret\n")]
    assert list(spec.configs) == [S.FileObject(name="conf", data=b"listen 80\n")]
    assert spec.services[0].placement.max_per_node == 3
    assert loaded.warnings == ()  # declared networks are applied (isolation)


def test_defaults() -> None:
    loaded = load_doc({"services": {"web": {"image": "nginx"}}})
    assert loaded.spec.name == "app"
    assert loaded.spec.strategy == S.BINPACK


def test_default_name_is_normalized() -> None:
    assert (
        load_text("services: {web: {image: nginx}}", name="My.Project_1").spec.name == "myproject_1"
    )


def test_config_content() -> None:
    doc = service_doc({})
    doc["configs"] = {"conf": {"content": "inline"}}
    assert list(load_doc(doc).spec.configs) == [S.FileObject(name="conf", data=b"inline")]


def test_services_keep_file_order() -> None:
    doc = {"services": {name: {"image": "nginx"} for name in ("zeta", "alpha", "mid")}}
    assert [s.name for s in load_doc(doc).spec.services] == ["zeta", "alpha", "mid"]


def test_yaml_is_read_as_compose_reads_it() -> None:
    text = """
services:
  web:
    image: nginx
    restart: no
    ports:
      - 22:22
    environment:
      ANSWER: yes
      DAY: 2024-01-01
    secrets:
      - source: pw
        mode: 0440
secrets:
  pw:
    file: ./db_password.txt
"""
    service = load_text(text).spec.services[0]
    assert service.restart_policy.condition == S.RESTART_NONE
    assert list(service.ports) == _ports((22, 22, "tcp", ""))
    assert dict(service.environment) == {"ANSWER": "yes", "DAY": "2024-01-01"}
    assert service.secrets[0].mode == 0o440


def test_anchors_and_merge_keys() -> None:
    text = """
x-base: &base
  image: nginx:1
  environment: {A: "1"}
services:
  web:
    <<: *base
    hostname: w
"""
    service = load_text(text).spec.services[0]
    assert (service.image, service.hostname, dict(service.environment)) == (
        "nginx:1",
        "w",
        {"A": "1"},
    )
