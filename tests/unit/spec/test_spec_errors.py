"""Every kind of bad input, one row each: the exact one-line message the user sees."""

# ruff: noqa: E501  (one table row per line reads best)

from __future__ import annotations

import re
from typing import Any

import pytest

from dockyard.client.compose import SpecError

from .helpers import load_doc, load_text, service_doc

TEXT_ERRORS = [
    ("services: [", "malformed YAML at line 1, column 12: expected the node content"),
    ("a: b: c", "malformed YAML at line 1, column 5: mapping values are not allowed here"),
    ("\tfoo", "malformed YAML at line 1, column 1: found character '\\t'"),
    (
        "services:\n  web:\n    image: a\n    image: b\n",
        'malformed YAML at line 4: key "image" is written twice',
    ),
    (
        "x: !!python/object:os.system x",
        "malformed YAML at line 1, column 4: could not determine a constructor",
    ),
    ("- 1", "the top level must be a mapping, got a list"),
    ("just text", "the top level must be a mapping, got a string"),
    ("", 'the file is empty; it needs a "services" mapping'),
    ("services: {web: {image: nginx}}\nbogus: 1", 'unknown top-level key "bogus"'),
    ("1: x", "top-level key 1 must be a string"),
    ("services: {}", '"services" is missing or empty'),
    ("services: {web: nginx}", 'service "web": expected a mapping, got a string'),
    ("services: {web: {image: a}}\nservices: {}", 'key "services" is written twice'),
]


@pytest.mark.parametrize(("text", "message"), TEXT_ERRORS)
def test_text_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_text(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


SERVICE_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"privilegd": True}, 'service "web": unknown key "privilegd"'),
    ({"volumes_from": ["db"]}, 'service "web": "volumes_from" is not supported by Dockyard: tasks of different services may run on different nodes'),
    ({"network_mode": "service:db"}, 'service "web": network_mode: "service:db" is not supported by Dockyard: tasks of different services may run on different nodes'),
    ({"gpus": "all"}, 'service "web": "gpus" is not supported by Dockyard: the scheduler does not place GPUs'),
    ({"platform": "windows/amd64"}, 'service "web": platform: "windows/amd64" is not supported by Dockyard: nodes run Linux'),
    ({"ulimits": {"nofile": {"soft": 10, "hard": 5}}}, 'service "web": ulimits.nofile: soft limit 10 is above the hard limit 5'),
    ({"pid": "container:x"}, 'service "web": pid: "container:x" is not supported by Dockyard'),
    ({"devices": ["dev/null"]}, 'service "web": devices[0]: device "dev/null" must be an absolute path'),
    ({"extra_hosts": ["nohost"]}, 'service "web": extra_hosts[0]: expected HOST:IP, got "nohost"'),
    ({"tmpfs": ["run"]}, 'service "web": tmpfs[0]: container path "run" must be absolute'),
    ({"logging": {"driver": "local", "opts": {}}}, 'service "web": unknown key "logging.opts"'),
    ({"build": {"context": ".", "ssh": ["default"]}}, 'service "web": "build.ssh" is not supported by Dockyard: builds do not get an SSH agent'),
    ({"image": None}, 'service "web": "image" is missing'),
    ({"image": "Nginx"}, 'service "web": image: bad image reference "Nginx": the repository name must be lowercase'),
    ({"image": "nginx:"}, 'service "web": image: bad image reference "nginx:": tag'),
    ({"image": ["nginx"]}, 'service "web": image: expected a string, got a list'),
    ({"command": "echo 'x"}, 'service "web": command: cannot split "echo \'x": No closing quotation'),
    ({"entrypoint": {"a": 1}}, 'service "web": entrypoint: expected a string or a list, got a mapping'),
    ({"environment": {"A": {"b": 1}}}, 'service "web": environment.A: expected a string, number or boolean, got a mapping'),
    ({"environment": 5}, 'service "web": environment: expected a list or a mapping, got a number'),
    ({"env_file": "./nope.env"}, 'service "web": env_file: cannot read "./nope.env": No such file or directory'),
    ({"env_file": [{"required": True}]}, 'service "web": env_file[0]: the long form needs "path"'),
    ({"ports": ["abc"]}, 'service "web": ports[0]: invalid port "abc"'),
    ({"ports": "80"}, 'service "web": ports: expected a list, got a string'),
    ({"ports": ["8080:80", "8080:81"]}, 'service "web": ports: host port 8080/tcp is published twice'),
    ({"ports": ["8080:80", "127.0.0.1:8080:81"]}, 'service "web": ports: host port 127.0.0.1:8080/tcp is published twice'),
    ({"ports": ["70000:80"]}, 'service "web": ports[0]: port 70000 in "70000:80" is not in 1-65535'),
    ({"ports": ["8000-8002:80-81"]}, 'service "web": ports[0]: "8000-8002:80-81" maps 3 host ports to 2 container ports'),
    ({"ports": ["81-80:81-80"]}, 'service "web": ports[0]: port range "81-80" runs backwards'),
    ({"ports": ["80/sctp"]}, 'service "web": ports[0]: protocol "sctp" in "80/sctp" is not tcp or udp'),
    ({"ports": ["1.2.3.4:5:6:7"]}, 'service "web": ports[0]: cannot read port "1.2.3.4:5:6:7"'),
    ({"ports": [{"published": 80}]}, 'service "web": ports[0]: the long form needs "target" (the container port)'),
    ({"ports": [{"target": 80, "mode": "swarm"}]}, 'service "web": ports[0].mode: expected "ingress" or "host", got "swarm"'),
    ({"ports": [{"target": 80, "nmae": "http"}]}, 'service "web": unknown key "ports[0].nmae"'),
    ({"expose": ["x"]}, 'service "web": expose[0]: invalid port "x"'),
    ({"labels": ["=x"]}, 'service "web": labels[0]: "=x" has no name before \'=\''),
    ({"user": None, "hostname": ["h"]}, 'service "web": hostname: expected a string, got a list'),
    ({"stop_grace_period": -3}, 'service "web": stop_grace_period: duration must not be negative, got -3'),
    ({"stop_grace_period": "soon"}, 'service "web": stop_grace_period: invalid duration "soon"'),
    ({"cap_add": "NET_ADMIN"}, 'service "web": cap_add: expected a list, got a string'),
    ({"volumes": ["undeclared:/x"]}, 'service "web": volumes: volume "undeclared" is not declared in the top-level volumes'),
    ({"volumes": ["data:rel"]}, 'service "web": volumes[0]: container path "rel" must be absolute'),
    ({"volumes": ["data:/x:q"]}, 'service "web": volumes[0]: mount option "q" in "data:/x:q" is not one of ro, rw, z, Z, nocopy or a propagation'),
    ({"volumes": ["a:b:c:d"]}, 'service "web": volumes[0]: cannot read volume "a:b:c:d"'),
    ({"volumes": [{"type": "npipe", "target": "/x"}]}, 'service "web": volumes[0].type: "npipe" is not supported by Dockyard: mounts are volumes, binds or tmpfs'),
    ({"volumes": [{"type": "bind", "target": "/x"}]}, 'service "web": volumes[0]: a bind mount needs "source"'),
    ({"volumes": [{"source": "data"}]}, 'service "web": volumes[0]: the long form needs "target"'),
    ({"volumes": [{"type": "volume", "source": "data", "target": "/x", "bind": {}}]}, 'service "web": volumes[0].bind: options for bind on a mount of type volume'),
    ({"depends_on": ["nope"]}, 'service "web": depends_on names "nope", which is not a service of this app'),
    ({"depends_on": {"web": {"condition": "ready"}}}, 'service "web": depends_on.web.condition: expected one of service_started, service_healthy, service_completed_successfully, got "ready"'),
    ({"depends_on": {"web": {"when": 1}}}, 'service "web": unknown key "depends_on.web.when"'),
    ({"depends_on": "db"}, 'service "web": depends_on: expected a list or a mapping, got a string'),
    ({"healthcheck": {"test": ["BAD"]}}, 'service "web": healthcheck.test: a list must start with CMD, CMD-SHELL or NONE'),
    ({"healthcheck": {"test": ["CMD"]}}, 'service "web": healthcheck.test: CMD needs a command after it'),
    ({"healthcheck": {"interval": "soon"}}, 'service "web": healthcheck.interval: invalid duration "soon"'),
    ({"healthcheck": {"retries": -1}}, 'service "web": healthcheck.retries: must not be negative, got -1'),
    ({"healthcheck": {"test": "x", "disable": True}}, 'service "web": healthcheck: "disable: true" cannot be combined with a test'),
    ({"healthcheck": {"start_intervl": "1s"}}, 'service "web": unknown key "healthcheck.start_intervl"'),
    ({"restart": "sometimes"}, 'service "web": restart: expected no, always, on-failure[:N] or unless-stopped, got "sometimes"'),
    ({"restart": "on-failure:x"}, 'service "web": restart: expected a whole number, got "x"'),
    ({"networks": ["back"]}, 'service "web": networks: network "back" is not declared in the top-level networks'),
    ({"networks": {"front": {"alias": ["w"]}}}, 'service "web": unknown key "networks.front.alias"'),
    ({"secrets": ["nope"]}, 'service "web": secrets[0]: secret "nope" is not declared in the top-level secrets'),
    ({"configs": [{"target": "/x"}]}, 'service "web": configs[0]: the long form needs "source"'),
    ({"secrets": [{"source": "pw", "mode": "0999"}]}, 'service "web": secrets[0].mode: "0999" is not an octal mode like 0440'),
    ({"secrets": [{"source": "pw", "mode": 0o10000}]}, 'service "web": secrets[0].mode: must be at most 4095'),
    ({"deploy": {"replicas": -1}}, 'service "web": deploy.replicas: must not be negative, got -1'),
    ({"deploy": {"replicas": "many"}}, 'service "web": deploy.replicas: expected a whole number, got "many"'),
    ({"deploy": {"mode": "global"}}, 'service "web": deploy.mode: "global" is not supported by Dockyard: set replicas to the node count and x-dockyard.max_per_node to 1'),
    ({"deploy": {"lables": {}}}, 'service "web": unknown key "deploy.lables"'),
    ({"deploy": {"resources": {"limits": {"memory": "512M"}, "reservations": {"memory": "1G"}}}}, 'service "web": deploy.resources: reservations.memory 1 GiB exceeds limits.memory 512 MiB'),
    ({"deploy": {"resources": {"limits": {"cpus": "0.5"}, "reservations": {"cpus": 1}}}}, 'service "web": deploy.resources: reservations.cpus 1 exceeds limits.cpus 0.5'),
    ({"deploy": {"resources": {"limits": {"cpus": "-1"}}}}, 'service "web": deploy.resources.limits.cpus: CPU count must not be negative, got "-1"'),
    ({"deploy": {"resources": {"limits": {"memory": "lots"}}}}, 'service "web": deploy.resources.limits.memory: invalid size "lots"'),
    ({"deploy": {"resources": {"limits": {"pidz": 1}}}}, 'service "web": unknown key "deploy.resources.limits.pidz"'),
    ({"deploy": {"resources": {"reservations": {"devices": []}}}}, 'service "web": "deploy.resources.reservations.devices" is not supported by Dockyard: the scheduler does not place devices or GPUs'),
    ({"deploy": {"restart_policy": {"condition": "always"}}}, 'service "web": deploy.restart_policy.condition: expected none, on-failure or any, got "always"'),
    ({"deploy": {"placement": {"constraints": ["node.role==manager"]}}}, "service \"web\": deploy.placement.constraints[0]: constraint 'node.role==manager': key must be node.hostname or node.labels.NAME"),
    ({"deploy": {"placement": {"constraints": ["hostname"]}}}, "service \"web\": deploy.placement.constraints[0]: constraint 'hostname': expected KEY==VALUE or KEY!=VALUE"),
    ({"deploy": {"placement": {"preferences": [{"spread": "zone"}]}}}, 'service "web": deploy.placement.preferences[0].spread: expected node.labels.NAME, got "zone"'),
    ({"deploy": {"update_config": {"order": "random"}}}, 'service "web": deploy.update_config.order: expected stop-first or start-first, got "random"'),
    ({"deploy": {"update_config": {"failure_action": "panic"}}}, 'service "web": deploy.update_config.failure_action: expected pause or continue or rollback'),
    ({"deploy": {"rollback": {}}}, 'service "web": unknown key "deploy.rollback"'),
    ({"deploy": {"update_config": {"max_failure_ratio": 1.5}}}, 'service "web": deploy.update_config.max_failure_ratio: expected a number from 0 to 1, got 1.5'),
    ({"deploy": {"rollback_config": {"monitor": "soon"}}}, 'service "web": deploy.rollback_config.monitor:'),
    ({"deploy": {"rollback_config": {"order": "any"}}}, 'service "web": deploy.rollback_config.order: expected stop-first or start-first, got "any"'),
    ({"x-dockyard": {"max_per_node": 0}}, 'service "web": x-dockyard.max_per_node: must be at least 1, got 0'),
    ({"x-dockyard": {"strategy": "spread"}}, 'service "web": unknown key "x-dockyard.strategy"'),
    ({"x-dockyard": {"max_per_node": 2}, "deploy": {"placement": {"max_replicas_per_node": 1}}}, 'service "web": x-dockyard.max_per_node: 2 disagrees with deploy.placement.max_replicas_per_node 1'),
    ({"ports": [{"target": 80, "published": 8080, "mode": "host"}], "deploy": {"replicas": 3}, "x-dockyard": {"max_per_node": 2}}, 'service "web": x-dockyard.max_per_node is 2, but it publishes host port 8080/tcp; two replicas on one node would clash'),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), SERVICE_ERRORS)
def test_service_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_doc(service_doc(body))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def _app(**services: dict[str, Any]) -> dict[str, Any]:
    return {"services": {name: {"image": "nginx", **body} for name, body in services.items()}}


APP_ERRORS: list[tuple[dict[str, Any], str]] = [
    (_app(web={"depends_on": ["php"]}, php={"depends_on": ["web"]}), "dependency cycle: web -> php -> web"),
    (_app(web={"depends_on": ["web"]}), "dependency cycle: web -> web"),
    (_app(web={"depends_on": ["php"]}, php={"depends_on": ["db"]}, db={"depends_on": ["php"]}), "dependency cycle: php -> db -> php"),
    (_app(web={"ports": ["8080:80"]}, api={"ports": ["8080:8080"]}), "host port 8080/tcp is published by both web and api; they cannot share a node"),
    (_app(web={"ports": ["0.0.0.0:53:53/udp"]}, dns={"ports": ["127.0.0.1:53:53/udp"]}), "host port 127.0.0.1:53/udp is published by both web and dns"),
    (_app(Web={}), "service \"Web\": a service name must be lowercase letters, digits, '-' and '_', starting with a letter or digit"),
    (_app(**{"-web": {}}), 'service "-web": a service name must be'),
    ({"name": "Bad Name", **_app(web={})}, 'name: app name "Bad Name" must be lowercase letters'),
    ({"secrets": {"s": {"external": True, "file": "x"}}, **_app(web={})}, 'secret "s": an external secret takes no file; it is made with `dockyard secret create`'),
    ({"secrets": {"s": {"environment": "X"}}, **_app(web={})}, 'secret "s": environment variable X is not set'),
    ({"secrets": {"s": {}}, **_app(web={})}, 'secret "s": "file" is missing; write "file: PATH"'),
    ({"secrets": {"s": {"content": "x"}}, **_app(web={})}, 'secret "s": unknown key "content"'),
    ({"secrets": {"s": {"file": "./missing"}}, **_app(web={})}, 'secret "s": cannot read "./missing": No such file or directory'),
    ({"configs": {"c": {"external": True, "content": "x"}}, **_app(web={})}, 'config "c": an external config takes no content; it is made with `dockyard configs create`'),
    ({"configs": {"c": {"file": "./app.conf", "content": "x"}}, **_app(web={})}, 'config "c": give one of file, content or environment, not several'),
    ({"volumes": {"v": {"external": True, "driver": "nfs"}}, **_app(web={})}, 'volume "v": an external volume takes no driver or driver_opts'),
    ({"volumes": {"v": {"extrenal": True}}, **_app(web={})}, 'volume "v": unknown key "extrenal"'),
    ({"volumes": {"bad name": None}, **_app(web={})}, 'volumes: volume name "bad name" is not valid'),
    ({"networks": {"n": {"drivr": "overlay"}}, **_app(web={})}, 'network "n": unknown key "drivr"'),
    ({"models": {}, **_app(web={})}, '"models" is not supported by Dockyard: AI models are not provided by Dockyard'),
    ({"networks": ["n"], **_app(web={})}, "networks: expected a mapping, got a list"),
    ({"x-dockyard": {"strategy": "random"}, **_app(web={})}, 'x-dockyard: strategy must be binpack or spread, got "random"'),
    ({"x-dockyard": {"max_per_node": -1}, **_app(web={})}, "x-dockyard: max_per_node: must be at least 1, got -1"),
    ({"x-dockyard": {"zones": 2}, **_app(web={})}, 'x-dockyard: unknown key "zones"'),
    ({"services": ["web"]}, "services: expected a mapping, got a list"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "message"), APP_ERRORS)
def test_app_errors(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_doc(doc)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_no_name_to_fall_back_on() -> None:
    with pytest.raises(
        SpecError, match=re.escape('cannot make an app name from "/"; set "name" in the file')
    ):
        load_text("services: {web: {image: nginx}}", name="/")


def test_reader_failures_become_spec_errors() -> None:
    from dockyard.client.compose import load_app

    def broken(path: str) -> bytes:
        raise RuntimeError("disk on fire")

    with pytest.raises(SpecError, match=re.escape('secret "s": cannot read "./x": disk on fire')):
        load_app(
            "services: {web: {image: a}}\nsecrets: {s: {file: ./x}}",
            read_file=broken,
            default_name="a",
        )


WARNINGS: list[tuple[dict[str, Any], str]] = [
    ({"version": "3.8", **_app(web={})}, '"version" is ignored: it is obsolete, and the current format is read'),
    (_app(web={"container_name": "w"}), 'service "web": "container_name" is ignored: replicas get their own names'),
    (_app(web={"networks": {"default": {"priority": 5}}}), 'service "web": "networks.default.priority" is ignored: a task has one address on all its networks'),
    ({"networks": {"n": {"driver": "overlay"}}, **_app(web={})}, 'network "n": "driver" is ignored: every app network is enforced on Dockyard\'s cluster network'),
    ({"volumes": {"v": {"driver": "nfs"}}, **_app(web={})}, 'volume "v": driver "nfs" must be installed on every node that runs a task using it'),
    (_app(web={"deploy": {"restart_policy": {"window": "5s"}}}), 'service "web": "deploy.restart_policy.window" is not applied yet: every restart counts'),
    (_app(web={"ports": ["80"]}), 'service "web": port 80/tcp has no host port: it is reachable on the app network only'),
    (_app(web={"volumes": ["./x:/x"]}), 'service "web": bind mount "./x" is a relative path; the node that runs the task needs an absolute one'),
    (_app(web={"ports": ["80:80/tcp"], "network_mode": "host", "deploy": {"replicas": 3}}), 'service "web": publishes host port 80/tcp, so at most one replica runs per node: its 3 replicas need 3 nodes (max_per_node 1)'),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "warning"), WARNINGS)
def test_warnings(doc: dict[str, Any], warning: str) -> None:
    warnings = load_doc(doc).warnings
    assert any(warning in w for w in warnings), warnings


def test_host_port_with_replicas_gets_one_per_node() -> None:
    host = {"target": 80, "published": 8080, "mode": "host"}
    spec = load_doc(_app(web={"ports": [host], "deploy": {"replicas": 3}})).spec
    assert spec.services[0].placement.max_per_node == 1


def test_mesh_port_takes_no_node_and_aliases_are_kept() -> None:
    """A short-syntax port is the routing mesh's: replicas may share a node."""
    spec = load_doc(_app(web={"ports": ["8080:80"], "deploy": {"replicas": 3},
                              "networks": {"default": {"aliases": ["www", "front"]}}})).spec
    web = spec.services[0]
    assert web.placement.max_per_node == 0
    assert [(p.host_port, p.mode) for p in web.ports] == [(8080, "ingress")]
    assert list(web.aliases) == ["www", "front"]


def test_bad_alias_is_one_line() -> None:
    with pytest.raises(SpecError, match=r'networks\.default\.aliases: "Bad Name" must be'):
        load_doc(_app(web={"networks": {"default": {"aliases": ["Bad Name"]}}}))


def test_relative_bind_resolved_against_base_dir() -> None:
    import json

    from dockyard.client.compose import load_app

    from .helpers import read_file

    loaded = load_app(
        json.dumps(_app(web={"volumes": ["./html/../site:/srv"]})),
        read_file=read_file,
        default_name="a",
        base_dir="/home/u/amp",
    )
    assert loaded.spec.services[0].volumes[0].source == "/home/u/amp/site"
    assert "is /home/u/amp/site on the node that runs the task" in loaded.warnings[0]


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "services": {
            "web": {"image": "nginx", "privilegd": True, "ports": ["abc"], "gpus": "all"},
            "db": {"image": "Postgres", "deploy": {"replicas": -1}},
        },
        "bogus": 1,
    }
    with pytest.raises(SpecError) as caught:
        load_doc(doc)
    assert caught.value.problems == (
        'unknown top-level key "bogus"',
        'service "web": unknown key "privilegd"',
        'service "web": "gpus" is not supported by Dockyard: the scheduler does not place GPUs',
        'service "web": ports[0]: invalid port "abc"',
        'service "db": image: bad image reference "Postgres": the repository name must be lowercase',
        'service "db": deploy.replicas: must not be negative, got -1',
    )
    assert str(caught.value) == 'unknown top-level key "bogus" (and 5 more problems)'


def test_problem_lines_are_capped_with_a_count() -> None:
    from dockyard.common.spec.errors import problem_lines

    doc = {"services": {"web": {"image": "nginx", **{f"bad{i}": 1 for i in range(25)}}}}
    with pytest.raises(SpecError) as caught:
        load_doc(doc)
    lines = problem_lines(caught.value)
    assert len(lines) == 21
    assert lines[0] == 'service "web": unknown key "bad0"'
    assert lines[-1] == "... and 5 more problems"
