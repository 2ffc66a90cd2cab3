"""common/spec/admissible.py: any wire AppSpec judged against the spec's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.client.compose import SpecError, load_app
from dockyard.common.spec import rules
from dockyard.common.spec.admissible import app_problem, check_app
from dockyard.v1 import specs_pb2

from .helpers import load_doc, service_doc

IMAGE = "registry:5000/web:1"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "amp" / "compose.yaml"


def svc(name: str = "web", **fields: Any) -> specs_pb2.ServiceSpec:
    return specs_pb2.ServiceSpec(name=name, image=fields.pop("image", IMAGE),
                                 replicas=fields.pop("replicas", 1), **fields)


def app(*services: specs_pb2.ServiceSpec, name: str = "shop", **fields: Any) -> specs_pb2.AppSpec:
    return specs_pb2.AppSpec(name=name, services=list(services) or [svc()], **fields)


def port(container: int, host: int = 0, protocol: str = "tcp", ip: str = "") -> Any:
    return specs_pb2.PortMapping(container_port=container, host_port=host, protocol=protocol,
                                 host_ip=ip)


CASES = [
    (app(svc(replicas=1_000_000_000)),
     'service "web": replicas 1000000000 is more than the limit of 10,000 per service'),
    (app(svc(replicas=-1)), 'service "web": replicas: must not be negative, got -1'),
    (app(svc(reservations=specs_pb2.Resources(cpu_millis=-500))),
     'service "web": reservations: cpu_millis: must not be negative, got -500'),
    (app(svc(limits=specs_pb2.Resources(memory_bytes=2**62))),
     f'service "web": limits: memory_bytes: {2**62} is more than the most allowed, '
     f"{rules.MAX_MEMORY_BYTES:,}"),
    (app(svc(stop_grace_period_ms=10**15)),
     f'service "web": stop_grace_period_ms: {10**15} is more than the most allowed, '
     f"{rules.MAX_DURATION_MS:,}"),
    (app(name="victim/evil"), 'app name "victim/evil" must be lowercase letters, digits, '
                              "'-' and '_', starting with a letter or digit"),
    (app(name=""), 'app name "" is empty'),
    (app(svc("a\x00b")), 'service "a\\u0000b": the service name must be lowercase letters, '
                         "digits, '-' and '_', starting with a letter or digit"),
    (app(svc(".."), name="shop"), 'service "..": the service name must be lowercase'),
    (specs_pb2.AppSpec(name="shop"), 'app "shop" has no services; an app needs at least one'),
    (app(svc(), svc()), 'service "web" is defined twice'),
    (app(svc(image="")), 'service "web": image "" is not valid: it is empty'),
    (app(svc(ports=[port(80, 99999)])), 'service "web": ports: port 99999 is not in 1-65535'),
    (app(svc(ports=[port(0)])), 'service "web": ports: port 0 is not in 1-65535'),
    (app(svc(ports=[port(80, protocol="sctp")])),
     'service "web": ports: protocol "sctp" is not tcp or udp'),
    (app(svc(ports=[port(80, 80, ip="nowhere")])),
     'service "web": ports: host address "nowhere" is not an IP address'),
    (app(strategy=7),  # type: ignore[arg-type]
     'app "shop": strategy: 7 is not one of STRATEGY_UNSPECIFIED, BINPACK, SPREAD'),
    (app(svc(restart_policy=specs_pb2.RestartPolicy(condition=-3))),  # type: ignore[arg-type]
     'service "web": restart_policy: condition: -3 is not one of'),
    (app(svc(depends_on=[specs_pb2.Dependency(service="db", condition=9)])),  # type: ignore[arg-type]
     'service "web": depends_on: condition: 9 is not one of'),
    (app(svc(environment={"A": "a\x00"})), 'service "web": environment: "a\\u0000" contains a NUL'),
    (app(svc(user="x" * 5000)), 'service "web": user: a value is longer than 4096 characters'),
    (app(svc(expose=["80"] * 1001)), 'service "web": expose has 1001 entries; the limit is 1000'),
    (app(svc(volumes=[specs_pb2.VolumeMount(type="npipe", target="/x")])),
     'service "web": volumes: type "npipe" is not volume, bind or tmpfs'),
    (app(svc(volumes=[specs_pb2.VolumeMount(type="volume", target="rel")])),
     'service "web": volumes: target "rel" is not an absolute path'),
    (app(*[svc(f"s{i}") for i in range(101)]), 'app "shop" has 101 services; the limit is 100 '
                                               "per app"),
    (app(secrets=[specs_pb2.FileObject(name="k", data=b"x" * (501 * 1024))]),
     'secret "k": its content is 501 KiB; the limit is 500 KiB'),
    (app(configs=[specs_pb2.FileObject(name="../k", data=b"x")]),
     'config name "../k" must be letters, digits'),
    (app(volumes=["a/b"]), 'volume name "a/b" must be letters'),
    (app(svc(labels={f"k{i}": "v" * 4000 for i in range(17)})),
     'service "web": its spec is 66.61 KiB; the limit is 64 KiB'),
    (app(*[svc(f"s{i}", labels={f"k{j}": "v" * 4000 for j in range(15)}) for i in range(7)]),
     "the app is 411.44 KiB; the limit is 352 KiB"),
    (app(svc(update_config=specs_pb2.UpdateConfig(failure_action="retry"))),
     'service "web": update_config: failure_action "retry" is not pause or continue or rollback'),
    (app(svc(rollback_config=specs_pb2.UpdateConfig(max_failure_ratio=float("nan")))),
     'service "web": rollback_config: max_failure_ratio nan is not from 0 to 1'),
    (app(svc(update_config=specs_pb2.UpdateConfig(monitor_ms=-5))),
     'service "web": update_config: monitor_ms: must not be negative, got -5'),
    (app(svc("a", depends_on=[specs_pb2.Dependency(service="b")])),
     'service "a": depends_on names "b", which is not a service of this app'),
    (app(svc("a", depends_on=[specs_pb2.Dependency(service="b")]),
         svc("b", depends_on=[specs_pb2.Dependency(service="a")])), "dependency cycle: "),
    (app(svc("a", ports=[port(80, 8080)]), svc("b", ports=[port(81, 8080)])),
     "host port 8080/tcp is published by both a and b; they cannot share a node"),
]


@pytest.mark.parametrize(("spec", "message"), CASES)
def test_each_broken_rule_is_one_line(spec: specs_pb2.AppSpec, message: str) -> None:
    problem = app_problem(spec)
    assert problem is not None and problem.startswith(message), problem
    assert "\n" not in problem


def test_a_good_app_passes_and_is_not_changed() -> None:
    spec = app(svc("db"), svc("web", replicas=3, ports=[port(80, 8080)],
                             depends_on=[specs_pb2.Dependency(service="db")]))
    before = spec.SerializeToString(deterministic=True)
    assert app_problem(spec) is None
    assert spec.SerializeToString(deterministic=True) == before  # max_per_node untouched


def test_the_limits_are_the_servers_to_choose() -> None:
    spec = app(svc(replicas=20_000))
    assert app_problem(spec) is not None
    assert app_problem(spec, rules.Limits(replicas_per_service=50_000)) is None


def test_the_loader_refuses_only_what_no_server_accepts() -> None:
    loaded = load_doc(service_doc({"deploy": {"replicas": 20_000}}))
    assert loaded.spec.services[0].replicas == 20_000
    with pytest.raises(SpecError, match="replicas 2000000 is more than the limit of "
                                        "1,000,000 per service"):
        load_doc(service_doc({"deploy": {"replicas": 2_000_000}}))


def test_the_example_app_passes() -> None:
    loaded = load_app(EXAMPLE.read_text(), read_file=lambda p: (EXAMPLE.parent / p).read_bytes(),
                      default_name="amp")
    assert app_problem(loaded.spec) is None


def _mutations() -> st.SearchStrategy[Any]:
    ints = st.integers(-(2**31), 2**31 - 1)
    return st.fixed_dictionaries({}, optional={
        "name": st.text(max_size=70),
        "image": st.text(max_size=30),
        "replicas": ints,
        "cpu": st.integers(-(2**63), 2**63 - 1),
        "port": st.integers(0, 2**32 - 1),
        "condition": ints,
        "strategy": ints,
        "env": st.text(max_size=10),
    })


@settings(max_examples=300, deadline=None)
@given(_mutations())
def test_any_spec_gets_an_answer_and_accepted_ones_keep_every_rule(m: dict[str, Any]) -> None:
    spec = app(svc("db"), svc("web", depends_on=[specs_pb2.Dependency(service="db")]))
    web = spec.services[1]
    web.name = m.get("name", web.name)
    web.image = m.get("image", web.image)
    web.replicas = m.get("replicas", web.replicas)
    web.reservations.cpu_millis = m.get("cpu", 0)
    if "port" in m:
        web.ports.append(port(m["port"]))
    web.restart_policy.condition = m.get("condition", 0)
    spec.strategy = m.get("strategy", 0)
    web.environment["E"] = m.get("env", "")
    problem = app_problem(spec)
    if problem is None:
        assert rules.name_problem(web.name) is None
        assert 0 <= web.replicas <= 10_000
        assert 0 <= web.reservations.cpu_millis <= rules.MAX_CPU_MILLIS
        assert all(1 <= p.container_port <= 65535 for p in web.ports)
        assert spec.strategy in (0, 1, 2) and 0 <= web.restart_policy.condition <= 3
        assert "\x00" not in web.environment["E"]
    else:
        assert "\n" not in problem


def test_unlimited_is_minus_one_where_the_engine_says_so() -> None:
    spec = app(svc(pids_limit=-1, ulimits=[specs_pb2.Ulimit(name="nofile", soft=-1, hard=-1)]))
    assert app_problem(spec) is None
    spec.services[0].pids_limit = -2
    assert app_problem(spec) == 'service "web": pids_limit: must be at least -1, got -2'


def test_a_build_without_image_may_be_shown_but_not_stored() -> None:
    spec = app(svc(image="", build=specs_pb2.BuildSpec(context=".")))
    assert app_problem(spec) == 'service "web": image "" is not valid: it is empty'
    check_app(spec, rules.LOADER_LIMITS, stored=False)
