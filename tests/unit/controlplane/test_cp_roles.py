"""The role table and the interceptor that enforces it: pure logic, a stand-in context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from dockyard.controlplane.api import roles
from dockyard.controlplane.api.roles import Role, rule_for
from dockyard.controlplane.security.pki import Peer
from dockyard.v1 import control_pb2, dispatcher_pb2

ADMIN, NODE, JOIN, NOBODY = Peer("admin", "admin"), Peer("node", "n1"), Peer("join", "n1"), \
    Peer("", "x")


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Context:
    async def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise Aborted(code, message)


def every_rpc() -> list[tuple[str, Any]]:
    out = []
    for module in (control_pb2, dispatcher_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            out += [(f"/{service.full_name}/{m.name}", m) for m in service.methods]
    return out


def test_every_rpc_has_a_rule_and_its_node_field_exists() -> None:
    from google.protobuf import message_factory

    for method, desc in every_rpc():
        rule = rule_for(method)
        assert rule is not None, method
        if method.startswith("/dockyard.v1.Control/"):
            assert rule.role is Role.ADMIN, method
        else:
            assert rule.role in (Role.NODE, Role.JOINING), method
        if rule.node_field:
            request = message_factory.GetMessageClass(desc.input_type)()
            assert roles.field_value(request, rule.node_field) == ""
    assert rule_for("/dockyard.v1.Certificates/Register") == roles.Rule(
        Role.JOINING, "description.name")
    for method in ("/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"):
        assert rule_for(method) == roles.Rule(Role.ADMIN)
    assert rule_for("/some.Other/Thing") is None


@pytest.mark.parametrize(("method", "peer", "code"), [
    ("/dockyard.v1.Control/ListApps", ADMIN, None),
    ("/dockyard.v1.Control/ListApps", NODE, grpc.StatusCode.PERMISSION_DENIED),
    ("/dockyard.v1.Control/JoinToken", JOIN, grpc.StatusCode.PERMISSION_DENIED),
    ("/grpc.health.v1.Health/Check", NODE, grpc.StatusCode.PERMISSION_DENIED),
    ("/grpc.health.v1.Health/Check", ADMIN, None),
    ("/dockyard.v1.Certificates/Register", JOIN, None),
    ("/dockyard.v1.Certificates/Register", NODE, None),
    ("/dockyard.v1.Certificates/Register", ADMIN, grpc.StatusCode.UNAUTHENTICATED),
    ("/dockyard.v1.Certificates/Renew", JOIN, grpc.StatusCode.UNAUTHENTICATED),
    ("/dockyard.v1.Sessions/Heartbeat", JOIN, grpc.StatusCode.UNAUTHENTICATED),
    ("/dockyard.v1.Sessions/Heartbeat", NOBODY, grpc.StatusCode.UNAUTHENTICATED),
    ("/dockyard.v1.Sessions/Heartbeat", ADMIN, grpc.StatusCode.UNAUTHENTICATED),
    ("/dockyard.v1.LogBroker/PublishLogs", NODE, None),
    ("/nobody.Knows/This", ADMIN, grpc.StatusCode.PERMISSION_DENIED),
])
def test_who_may_call_what(method: str, peer: Peer, code: grpc.StatusCode | None) -> None:
    refusal = roles.refuse_caller(method, rule_for(method), peer)
    assert (refusal.code if refusal else None) == code
    if refusal is not None:
        assert "\n" not in refusal.message


def test_the_node_a_message_names_must_be_the_callers_own() -> None:
    rule = rule_for("/dockyard.v1.Sessions/Heartbeat")
    assert rule is not None
    ok = dispatcher_pb2.HeartbeatRequest(node="n1")
    assert roles.refuse_message(rule, NODE, ok) is None
    for other in ("n2", ""):
        refusal = roles.refuse_message(rule, NODE, dispatcher_pb2.HeartbeatRequest(node=other))
        assert refusal is not None and refusal.code == grpc.StatusCode.PERMISSION_DENIED
        assert refusal.message == f"the certificate is for node n1, not {other or '(none)'}"


def guarded(method: str, peer: Peer, behavior: Any, kind: str) -> Any:
    make = getattr(grpc, f"{kind}_rpc_method_handler")
    handler = roles._guard(make(behavior), method, rule_for(method), lambda _ctx: peer)
    return getattr(handler, kind)


def test_a_unary_rpc_runs_only_for_its_role_and_sees_its_caller() -> None:
    seen: list[Peer] = []

    async def list_apps(request: Any, context: Any) -> str:
        seen.append(roles.caller())
        return "apps"

    async def scenario() -> None:
        assert await guarded("/dockyard.v1.Control/ListApps", ADMIN, list_apps,
                             "unary_unary")(control_pb2.ListRequest(), Context()) == "apps"
        with pytest.raises(Aborted) as exc:
            await guarded("/dockyard.v1.Control/ListApps", NODE, list_apps,
                          "unary_unary")(control_pb2.ListRequest(), Context())
        assert exc.value.code == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(Aborted) as exc:
            await guarded("/dockyard.v1.Sessions/Heartbeat", NODE, list_apps, "unary_unary")(
                dispatcher_pb2.HeartbeatRequest(node="n2"), Context())
        assert str(exc.value) == "the certificate is for node n1, not n2"

    asyncio.run(scenario())
    assert seen == [ADMIN]


def test_a_request_stream_is_checked_message_by_message() -> None:
    got: list[str] = []

    async def publish(requests: AsyncIterator[Any], context: Any) -> str:
        async for msg in requests:
            got.append(msg.task_id)
        return "done"

    async def messages(*nodes: str) -> AsyncIterator[dispatcher_pb2.PublishLogsMessage]:
        for i, node in enumerate(nodes):
            yield dispatcher_pb2.PublishLogsMessage(node=node, task_id=f"t{i}")

    call = guarded("/dockyard.v1.LogBroker/PublishLogs", NODE, publish, "stream_unary")

    async def scenario() -> None:
        assert await call(messages("n1", "n1"), Context()) == "done"
        with pytest.raises(Aborted) as exc:
            await call(messages("n1", "", "n1"), Context())
        assert exc.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert str(exc.value) == "the certificate is for node n1, not (none)"

    asyncio.run(scenario())
    assert got == ["t0", "t1", "t0"]


def test_a_response_stream_starts_only_after_the_check() -> None:
    started: list[str] = []

    async def session(request: Any, context: Any) -> AsyncIterator[str]:
        started.append(request.node)
        yield "first"

    call = guarded("/dockyard.v1.Sessions/Session", NODE, session, "unary_stream")

    async def collect(node: str) -> list[str]:
        return [m async for m in call(dispatcher_pb2.SessionRequest(node=node), Context())]

    assert asyncio.run(collect("n1")) == ["first"]
    with pytest.raises(Aborted):
        asyncio.run(collect("n2"))
    assert started == ["n1"]


def test_a_request_that_does_not_parse_is_refused_in_one_line_after_the_role_check() -> None:
    parse = roles.tolerant(control_pb2.ListRequest.FromString)
    assert parse is not None
    assert parse(control_pb2.ListRequest(app="a").SerializeToString()).app == "a"
    garbage = parse(b"\xff\xff\xff\xff")
    assert isinstance(garbage, roles.Undecodable)

    async def list_apps(request: Any, context: Any) -> str:
        raise AssertionError("the servicer must not run")

    async def scenario() -> None:
        for peer, code in ((NODE, grpc.StatusCode.PERMISSION_DENIED),
                           (ADMIN, grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(Aborted) as exc:
                await guarded("/dockyard.v1.Control/ListApps", peer, list_apps,
                              "unary_unary")(garbage, Context())
            assert exc.value.code == code
            assert "\n" not in str(exc.value)
        assert str(exc.value).startswith("the request is not valid protobuf: ")

    asyncio.run(scenario())
