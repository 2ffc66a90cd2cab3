"""Random and mutated requests against a real server, under the admin credential.

The properties a user relies on, whatever a client sends: every call answers within its
timeout (the server never hangs), the server refuses exactly what the spec's rules
refuse (so nothing invalid is ever stored, and what is stored re-validates), and the
server's log never shows a traceback.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.common.spec.admissible import app_problem
from dockyard.v1 import control_pb2, control_pb2_grpc, specs_pb2
from tests.integration.harness import ServerProcess

pytestmark = pytest.mark.integration

CALL_S = 5.0  # every call answers within this, or the server hung
ANSWERS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}

HOSTILE_TEXT = ["", "..", "/", "a/b", "victim/evil", "a\x00b", "a\nb", "UPPER", "-x", "x" * 64,
                "ok", "web", "db", "a_b", "a-b", "x" * 63, "ü", " web"]
names = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12))
images = st.one_of(
    st.sampled_from(["127.0.0.1:5000/busybox:latest", "busybox", "", "UPPER::bad", "a b",
                     "busybox@sha256:" + "0" * 64, "x" * 300]),
    st.text(max_size=20),
)
counts = st.one_of(st.integers(0, 3),
                   st.sampled_from([-1, 10_000, 10_001, 1_000_000_000, 2**31 - 1]),
                   st.integers(-(2**31), 2**31 - 1))
int64s = st.one_of(st.integers(0, 4000), st.integers(-(2**63), 2**63 - 1))
enums: st.SearchStrategy[Any] = st.one_of(st.integers(0, 3), st.integers(-(2**31), 2**31 - 1))
ports = st.builds(
    specs_pb2.PortMapping,
    container_port=st.one_of(st.integers(1, 65535), st.integers(0, 2**32 - 1)),
    host_port=st.one_of(st.just(0), st.integers(0, 2**32 - 1)),
    protocol=st.sampled_from(["tcp", "udp", "", "sctp", "TCP"]),
    host_ip=st.sampled_from(["", "127.0.0.1", "::", "not-an-ip", "1.2.3.4\x00"]),
)


@st.composite
def services(draw: st.DrawFn) -> specs_pb2.ServiceSpec:
    svc = specs_pb2.ServiceSpec(
        name=draw(names), image=draw(images), replicas=draw(counts),
        ports=draw(st.lists(ports, max_size=2)),
        environment=draw(st.dictionaries(st.text(max_size=5), st.text(max_size=8),
                                         max_size=2)),
    )
    svc.reservations.cpu_millis = draw(int64s)
    svc.reservations.memory_bytes = draw(int64s)
    svc.restart_policy.condition = draw(enums)
    svc.stop_grace_period_ms = draw(int64s)
    if draw(st.booleans()):
        svc.depends_on.add(service=draw(names), condition=draw(enums))
    return svc


@st.composite
def random_apps(draw: st.DrawFn) -> specs_pb2.AppSpec:
    spec = specs_pb2.AppSpec(name=draw(names), strategy=draw(enums),
                             services=draw(st.lists(services(), max_size=4)))
    if draw(st.booleans()):
        spec.secrets.add(name=draw(names), data=draw(st.binary(max_size=16)))
    return spec


VALID_NAME = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True)


@st.composite
def mutated_apps(draw: st.DrawFn) -> specs_pb2.AppSpec:
    """A valid app with up to two fields set to something hostile."""
    count = draw(st.integers(1, 3))
    svc_names = draw(st.lists(VALID_NAME, min_size=count, max_size=count, unique=True))
    spec = specs_pb2.AppSpec(name=draw(VALID_NAME), services=[
        specs_pb2.ServiceSpec(name=n, image="127.0.0.1:5000/busybox:latest",
                              replicas=draw(st.integers(0, 3))) for n in svc_names])
    for _ in range(draw(st.integers(0, 2))):
        target = spec.services[draw(st.integers(0, count - 1))]
        field = draw(st.sampled_from(["app", "name", "image", "replicas", "cpu", "memory",
                                      "port", "restart", "strategy", "grace", "dep", "env"]))
        if field == "app":
            spec.name = draw(names)
        elif field == "name":
            target.name = draw(names)
        elif field == "image":
            target.image = draw(images)
        elif field == "replicas":
            target.replicas = draw(counts)
        elif field == "cpu":
            target.reservations.cpu_millis = draw(int64s)
        elif field == "memory":
            target.limits.memory_bytes = draw(int64s)
        elif field == "port":
            target.ports.append(draw(ports))
        elif field == "restart":
            target.restart_policy.condition = draw(enums)
        elif field == "strategy":
            spec.strategy = draw(enums)
        elif field == "grace":
            target.stop_grace_period_ms = draw(int64s)
        elif field == "dep":
            target.depends_on.add(service=draw(st.sampled_from([*svc_names, *HOSTILE_TEXT])))
        else:
            target.environment[draw(st.text(max_size=4))] = draw(st.text(max_size=8))
    return spec


apps = st.one_of(mutated_apps(), random_apps())


def outcome(fn: Any, request: Any) -> tuple[Any, grpc.StatusCode | None, str]:
    """(response, None, "") or (None, code, details); any other code fails the test."""
    try:
        return fn(request, timeout=CALL_S), None, ""
    except grpc.RpcError as exc:
        err: Any = exc
        code, details = err.code(), err.details() or ""
        assert code in ANSWERS, f"{code}: {details}"
        assert "\n" not in details and "Traceback" not in details
        return None, code, details


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=apps, scale_to=counts)
def test_random_apps_are_stored_only_when_valid(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub,
    spec: specs_pb2.AppSpec, scale_to: int,
) -> None:
    expected = app_problem(spec)
    response, code, details = outcome(admin_stub.Apply, control_pb2.ApplyRequest(spec=spec))
    if expected is None:
        assert code is None, f"the server refused a valid app: {details}"
    else:
        assert code == grpc.StatusCode.INVALID_ARGUMENT, f"stored an invalid app: {expected}"
    stored, _, _ = outcome(admin_stub.ListApps, control_pb2.ListRequest())
    for app in stored.apps:
        assert app_problem(app.spec) is None, app.spec.name
    if response is not None:
        first = spec.services[0].name
        outcome(admin_stub.Scale, control_pb2.ScaleRequest(app=spec.name, service=first,
                                                     replicas=scale_to))
        for svc in outcome(admin_stub.ListServices, control_pb2.ListRequest())[0].services:
            assert 0 <= svc.spec.replicas <= 10_000
        deleted, _, _ = outcome(admin_stub.DeleteApp, control_pb2.DeleteAppRequest(name=spec.name))
        assert deleted.deleted
    else:
        outcome(admin_stub.Scale, control_pb2.ScaleRequest(app=spec.name, service="web",
                                                     replicas=scale_to))
        outcome(admin_stub.GetApp, control_pb2.GetAppRequest(name=spec.name))


def test_the_server_still_answers_and_logged_no_traceback(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    """Runs after the random requests above."""
    url = f"http://127.0.0.1:{module_server.http_port}/healthz"
    with urllib.request.urlopen(url, timeout=1) as r:
        assert r.status == 200
    admin_stub.ListApps(control_pb2.ListRequest(), timeout=1)
    assert "Traceback" not in Path(module_server.data_dir.parent / "server.log").read_text()
