"""Hostile and careless requests against a real server: each gets one line, stores nothing,
and leaves the server answering; a restart then recovers everything that was stored.

Every request here goes through the gRPC API with the admin credential, the way any
client could send it, not through the Compose loader: the server must judge it itself.
"""

from __future__ import annotations

import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from dockyard.client.control import CliError, call, control_stub, load_credentials
from dockyard.common.spec import rules
from dockyard.common.spec.admissible import app_problem
from dockyard.v1 import control_pb2, control_pb2_grpc, objects_pb2, specs_pb2
from tests.integration.harness import ServerProcess, run_cli, wait_port_free

pytestmark = pytest.mark.integration

IMAGE = "127.0.0.1:5000/busybox:latest"
ANSWER_S = 1.0  # the deadline of each call that shows the server still answers


def service(name: str = "web", **fields: Any) -> specs_pb2.ServiceSpec:
    return specs_pb2.ServiceSpec(name=name, image=fields.pop("image", IMAGE),
                                 replicas=fields.pop("replicas", 1), **fields)


def app(name: str = "shop", *services: specs_pb2.ServiceSpec) -> specs_pb2.AppSpec:
    return specs_pb2.AppSpec(name=name, services=list(services) or [service()])


def stored(stub: control_pb2_grpc.ControlStub) -> tuple[list[bytes], list[bytes], int, int]:
    """Everything a user can read back: apps, services, the task count, the node count.
    Tasks count only while their app exists: the leader removes a deleted app's tasks
    after the delete, so an earlier test's tasks may still be going away."""
    apps = stub.ListApps(control_pb2.ListRequest(), timeout=10)
    tasks = stub.ListTasks(control_pb2.ListRequest(), timeout=10)
    nodes = stub.ListNodes(control_pb2.ListRequest(), timeout=10)
    names = {a.meta.id for a in apps.apps}
    return (sorted(a.SerializeToString(deterministic=True) for a in apps.apps),
            sorted(s.SerializeToString(deterministic=True) for s in apps.services),
            sum(1 for t in tasks.tasks if t.app in names), len(nodes.nodes))


def assert_answering(srv: ServerProcess, stub: control_pb2_grpc.ControlStub) -> None:
    """/healthz and a ListApps, each with a deadline of ANSWER_S."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{srv.http_port}/healthz", timeout=ANSWER_S
    ) as r:
        assert r.status == 200
    stub.ListApps(control_pb2.ListRequest(), timeout=ANSWER_S)


def assert_refused(
    srv: ServerProcess, stub: control_pb2_grpc.ControlStub, attempt: Callable[[], object],
    *, needle: str, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> str:
    """The attempt fails with `code` and one line containing `needle`; nothing stored."""
    before = stored(stub)
    with pytest.raises(grpc.RpcError) as caught:
        attempt()
    err: Any = caught.value
    details = err.details() or ""
    assert err.code() == code, details
    assert "\n" not in details and needle in details, details
    for raw in ("Traceback", "etcdserver", "Exception"):
        assert raw not in details
    assert stored(stub) == before
    assert_answering(srv, stub)
    return str(details)


def apply(stub: control_pb2_grpc.ControlStub, spec: specs_pb2.AppSpec) -> Callable[[], object]:
    return lambda: stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=10)


HOSTILE_APPS = [
    pytest.param(app("shop", service(replicas=1_000_000_000)), "10,000 per service",
                 id="replicas-1e9"),
    pytest.param(app("shop", service(replicas=-3)), "must not be negative", id="replicas-neg"),
    pytest.param(app("shop", service(reservations=specs_pb2.Resources(cpu_millis=-1000))),
                 "must not be negative", id="negative-cpu"),
    pytest.param(app("shop", service(reservations=specs_pb2.Resources(memory_bytes=-1))),
                 "must not be negative", id="negative-memory"),
    pytest.param(app("victim/evil"), "must be lowercase", id="app-slash"),
    pytest.param(app(".."), "must be lowercase", id="app-dotdot"),
    pytest.param(app("a\x00b"), "must be lowercase", id="app-nul"),
    pytest.param(app("a\nb"), "must be lowercase", id="app-newline"),
    pytest.param(app("", service()), "is empty", id="app-empty"),
    pytest.param(app("x" * 64), "longer than 63", id="app-long"),
    pytest.param(app("shop", service("web/../x")), "must be lowercase", id="service-slash"),
    pytest.param(app("shop", service("..")), "must be lowercase", id="service-dotdot"),
    pytest.param(app("shop", service("w\x00b")), "must be lowercase", id="service-nul"),
    pytest.param(app("shop", service(image="")), "image", id="empty-image"),
    pytest.param(app("shop", service(image="UPPER::bad")), "image", id="bad-image"),
    pytest.param(app("shop", service(ports=[specs_pb2.PortMapping(
        container_port=80, host_port=99999, protocol="tcp")])), "99999", id="port-99999"),
    pytest.param(app("shop", service(ports=[specs_pb2.PortMapping(
        container_port=0, protocol="tcp")])), "port 0", id="port-0"),
    pytest.param(app("shop", service(ports=[specs_pb2.PortMapping(
        container_port=80, protocol="sctp")])), "tcp or udp", id="port-protocol"),
    pytest.param(specs_pb2.AppSpec(name="shop", services=[service()], strategy=99),  # type: ignore[arg-type]
                 "strategy: 99 is not one of", id="strategy-enum"),
    pytest.param(app("shop", service(restart_policy=specs_pb2.RestartPolicy(
        condition=42))), "condition: 42", id="restart-enum"),  # type: ignore[arg-type]
    pytest.param(app("shop", service(environment={"A": "x\x00y"})), "NUL", id="env-nul"),
    pytest.param(app("shop", *[service(f"s{i}") for i in range(101)]),
                 "101 services; the limit is 100", id="too-many-services"),
    pytest.param(app("shop", service("a", depends_on=[specs_pb2.Dependency(service="b")]),
                     service("b", depends_on=[specs_pb2.Dependency(service="a")])),
                 "cycle", id="dependency-cycle"),
    pytest.param(specs_pb2.AppSpec(name="shop", services=[service()], secrets=[
        specs_pb2.FileObject(name="key", data=b"k" * (600 * 1024))]),
                 "the limit is 500 KiB", id="oversize-secret"),
    pytest.param(app("shop", *[service(f"s{i}", environment={"BIG": "v" * 4000},
                                       labels={f"l{j}": "v" * 4000 for j in range(10)})
                               for i in range(40)]),
                 "the app is", id="oversize-app"),
]


@pytest.mark.parametrize(("spec", "needle"), HOSTILE_APPS)
def test_hostile_apply_is_refused_in_one_line_and_stores_nothing(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub, spec: specs_pb2.AppSpec,
    needle: str,
) -> None:
    assert_refused(module_server, admin_stub, apply(admin_stub, spec), needle=needle)


def test_hostile_scale_and_node_requests_are_refused(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    admin_stub.Apply(control_pb2.ApplyRequest(spec=app("victim")), timeout=10)
    wait_tasks(admin_stub, "victim", 1)  # the leader's own writes are done: a still state

    def scale(app_name: str, svc: str, n: int) -> Callable[[], object]:
        return lambda: admin_stub.Scale(
            control_pb2.ScaleRequest(app=app_name, service=svc, replicas=n), timeout=10)

    assert_refused(module_server, admin_stub, scale("victim", "web", 1_000_000_000),
                   needle="10,000")
    assert_refused(module_server, admin_stub, scale("victim", "web", -1), needle="negative")
    assert_refused(module_server, admin_stub, scale("victim/evil", "web", 1), needle="app name")
    assert_refused(module_server, admin_stub, scale("victim", "../web", 1), needle="service name")
    assert_refused(module_server, admin_stub, lambda: admin_stub.SetAvailability(
        control_pb2.SetAvailabilityRequest(node="n1", availability=7), timeout=10),  # type: ignore[arg-type]
        needle="availability 7")
    assert_refused(module_server, admin_stub, lambda: admin_stub.SetAvailability(
        control_pb2.SetAvailabilityRequest(node="../../x", availability=objects_pb2.DRAIN),
        timeout=10), needle="node name")
    for bad in ("victim/evil", "a\x00b", ".."):
        assert_refused(module_server, admin_stub, lambda bad=bad: admin_stub.GetApp(  # type: ignore[misc]
            control_pb2.GetAppRequest(name=bad), timeout=10), needle="app name")
        assert_refused(module_server, admin_stub, lambda bad=bad: admin_stub.DeleteApp(  # type: ignore[misc]
            control_pb2.DeleteAppRequest(name=bad), timeout=10), needle="app name")
        assert_refused(module_server, admin_stub, lambda bad=bad: admin_stub.ListTasks(  # type: ignore[misc]
            control_pb2.ListRequest(app=bad), timeout=10), needle="app name")
    assert_refused(module_server, admin_stub, lambda: list(admin_stub.Logs(
        control_pb2.LogsRequest(app="victim", service="web", slot=-2), timeout=10)),
        needle="slot")
    got = admin_stub.GetApp(control_pb2.GetAppRequest(name="victim"), timeout=10)
    assert got.spec.services[0].replicas == 1
    assert admin_stub.DeleteApp(control_pb2.DeleteAppRequest(name="victim"), timeout=10).deleted


def test_the_largest_allowed_app_is_stored_in_one_apply(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    """100 services (etcd refused 127 with raw text before): stored whole, and deleted."""
    spec = app("wide", *[service(f"s{i:03d}", replicas=0) for i in range(100)])
    out = admin_stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=30)
    assert len(out.changes) == 100
    services = admin_stub.ListServices(control_pb2.ListRequest(app="wide"), timeout=10).services
    assert len(services) == 100
    replaced = app("wide", *[service(f"t{i:03d}", replicas=0) for i in range(100)])
    assert_refused(module_server, admin_stub, apply(admin_stub, replaced), needle="smaller steps")
    assert admin_stub.DeleteApp(control_pb2.DeleteAppRequest(name="wide"), timeout=10).deleted


def test_a_request_over_4_mib_fails_in_one_line(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    big = specs_pb2.AppSpec(name="shop", services=[service()], configs=[
        specs_pb2.FileObject(name="blob", data=b"x" * (5 * rules.MIB))])
    request = control_pb2.ApplyRequest(spec=big)
    with pytest.raises(CliError) as caught:  # the CLI's client says so before sending
        call(module_server.address, admin_stub.Apply, request)
    assert str(caught.value) == ("the request is 5 MiB; the server accepts at most 4 MiB "
                                 "(see docs/limits.md)")
    # A client that sends it anyway: the server's stated cap refuses it, in one line.
    cert, key, ca = load_credentials(module_server.credentials)
    channel = grpc.secure_channel(
        module_server.address, grpc.ssl_channel_credentials(ca, key, cert),
        options=[("grpc.ssl_target_name_override", "dockyard-server"),
                 ("grpc.max_send_message_length", 64 * rules.MIB)])
    raw = control_pb2_grpc.ControlStub(channel)
    assert_refused(module_server, admin_stub, lambda: raw.Apply(request, timeout=10),
                   needle="larger than max", code=grpc.StatusCode.RESOURCE_EXHAUSTED)
    channel.close()


def test_a_huge_scale_up_never_blocks_and_can_always_be_undone(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    """10,000 replicas (the limit) with no node to run them: tasks are created in bounded
    rounds while the server answers, and scale-to-zero and delete win at once."""
    huge = app("huge", service(replicas=10_000))
    admin_stub.Apply(control_pb2.ApplyRequest(spec=huge), timeout=10)
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline:
        assert_answering(module_server, admin_stub)
        count = len(admin_stub.ListTasks(control_pb2.ListRequest(app="huge"), timeout=10).tasks)
        if count >= 10_000:
            break
        time.sleep(0.2)
    assert count == 10_000
    to_zero = control_pb2.ScaleRequest(app="huge", service="web", replicas=0)
    admin_stub.Scale(to_zero, timeout=ANSWER_S)
    assert_answering(module_server, admin_stub)
    back_up = control_pb2.ScaleRequest(app="huge", service="web", replicas=10_000)
    admin_stub.Scale(back_up, timeout=5)
    time.sleep(0.5)  # mid scale-up again
    assert admin_stub.DeleteApp(control_pb2.DeleteAppRequest(name="huge"), timeout=ANSWER_S).deleted
    assert_answering(module_server, admin_stub)
    wait_tasks(admin_stub, "huge", 0)


def wait_tasks(admin_stub: control_pb2_grpc.ControlStub, app_name: str, want: int) -> None:
    deadline = time.monotonic() + 60
    left = -1
    while time.monotonic() < deadline:
        left = len(admin_stub.ListTasks(control_pb2.ListRequest(app=app_name), timeout=10).tasks)
        if left == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"{left} tasks of {app_name}, not {want}")


def test_restart_recovers_and_deletes_during_a_scale_up(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub
) -> None:
    admin_stub.Apply(control_pb2.ApplyRequest(spec=app("keep", service(replicas=2))), timeout=10)
    huge = app("huge", service(replicas=10_000))
    admin_stub.Apply(control_pb2.ApplyRequest(spec=huge), timeout=10)
    time.sleep(0.5)
    listed = admin_stub.ListApps(control_pb2.ListRequest(), timeout=10)
    before_apps = {a.meta.id for a in listed.apps}
    module_server.stop(signal.SIGKILL)
    wait_port_free(module_server.grpc_port)
    module_server.start()
    fresh = control_stub(module_server.address, module_server.credentials)
    assert_answering(module_server, fresh)
    assert {a.meta.id for a in fresh.ListApps(control_pb2.ListRequest(), timeout=10).apps} \
        == before_apps
    assert fresh.DeleteApp(control_pb2.DeleteAppRequest(name="huge"), timeout=ANSWER_S).deleted
    assert_answering(module_server, fresh)
    wait_tasks(fresh, "huge", 0)
    wait_tasks(fresh, "keep", 2)
    for a in fresh.ListApps(control_pb2.ListRequest(), timeout=10).apps:
        assert app_problem(a.spec) is None
    assert fresh.DeleteApp(control_pb2.DeleteAppRequest(name="keep"), timeout=10).deleted


def test_the_cli_says_the_same_in_one_line(
    module_server: ServerProcess, admin_stub: control_pb2_grpc.ControlStub, tmp_path: Path
) -> None:
    """As a careless user meets it: a Compose file and `dockyard scale` asking too much."""
    f = tmp_path / "compose.yaml"
    f.write_text("name: big\nservices:\n  web:\n    image: busybox\n"
                 "    deploy:\n      replicas: 1000000000\n")
    out = run_cli(module_server, "apply", "-f", str(f), check=False)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "replicas 1000000000 is more than the limit" in out.stderr
    f.write_text("name: big\nservices:\n  web:\n    image: busybox\n")
    run_cli(module_server, "apply", "-f", str(f))
    for count, needle in (("20000", "more than the limit of 10,000 per service"),
                          ("1000000000", "more than any server accepts"),
                          ("99999999999", "more than any server accepts")):
        out = run_cli(module_server, "scale", f"big/web={count}", check=False)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
    assert "big/web scaled to 0" in run_cli(module_server, "scale", "big/web=0").stdout
    assert "deleted" in run_cli(module_server, "delete", "app", "big").stdout
    assert_answering(module_server, admin_stub)


def test_the_server_log_has_no_traceback(module_server: ServerProcess) -> None:
    """Runs last in this module: nothing above left a traceback behind."""
    log = Path(module_server.data_dir.parent / "server.log").read_text()
    assert "Traceback" not in log
