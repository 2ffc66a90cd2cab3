"""Who may call what on :7070: one table for every rpc, and the interceptor that enforces it.

Every call is mutual TLS, so the caller is known from its certificate before any servicer
runs (controlplane/security/pki.py: `peer_identity`). The table below is the only place
that says which certificate an rpc needs; servicers hold no checks of their own:

- ADMIN: the admin credential (the whole Control API, gRPC health and reflection);
- NODE: a node's own certificate;
- JOINING: a join certificate made from the join token, or the node's own certificate.

A rule may also name the request field that says which node the call is about; that
field must then equal the certificate's name, in every message of a request stream, and
an empty field is no exception. An rpc with no rule is refused.

A request that is not valid protobuf is answered INVALID_ARGUMENT in one line here too,
instead of gRPC logging a traceback for it.
"""

from __future__ import annotations

import contextvars
import enum
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from dockyard.controlplane.security.pki import Peer

_V1 = "/dockyard.v1."


class Role(enum.Enum):
    ADMIN = "admin"
    NODE = "node"
    JOINING = "joining"


@dataclass(frozen=True)
class Rule:
    role: Role
    # Dotted path of the request field naming the node the call is about ("" for none).
    node_field: str = ""


# Exact rpcs first; then whole services, which cover rpcs added to them later.
RULES: dict[str, Rule] = {
    f"{_V1}Certificates/Register": Rule(Role.JOINING, "description.name"),
    f"{_V1}Certificates/Renew": Rule(Role.NODE),
    f"{_V1}Sessions/Session": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/Heartbeat": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/UpdateTaskStatus": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/Leave": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/VolumesRemoved": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/Heartbeats": Rule(Role.NODE, "node"),
    f"{_V1}Sessions/TaskStatuses": Rule(Role.NODE, "node"),
    f"{_V1}LogBroker/PublishLogs": Rule(Role.NODE, "node"),
    f"{_V1}LogBroker/ExecStream": Rule(Role.NODE, "node"),
    f"{_V1}Builds/FetchContext": Rule(Role.NODE, "node"),
    f"{_V1}Builds/PublishBuild": Rule(Role.NODE, "node"),
}
SERVICE_RULES: dict[str, Rule] = {
    "dockyard.v1.Control": Rule(Role.ADMIN),
    "grpc.health.v1.Health": Rule(Role.ADMIN),
    "grpc.reflection.v1alpha.ServerReflection": Rule(Role.ADMIN),
    "grpc.reflection.v1.ServerReflection": Rule(Role.ADMIN),
}

# The caller of the rpc being served, for servicers that need its name or role.
CALLER: contextvars.ContextVar[Peer] = contextvars.ContextVar("dockyard_caller")


def caller() -> Peer:
    """The verified caller of the current rpc (set by the interceptor)."""
    return CALLER.get(Peer("", ""))


def rule_for(method: str) -> Rule | None:
    """The rule for a full method name ("/package.Service/Method"), or None. Pure."""
    if method in RULES:
        return RULES[method]
    service = method.strip("/").partition("/")[0]
    return SERVICE_RULES.get(service)


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    message: str


def _holds(peer: Peer) -> str:
    return f"a {peer.role} certificate" if peer.role else "no certificate with a role"


def refuse_caller(method: str, rule: Rule | None, peer: Peer) -> Refusal | None:
    """Why `peer` may not call `method` at all, or None. Pure."""
    service = method.strip("/").partition("/")[0].rpartition(".")[2] or method
    if rule is None:
        return Refusal(grpc.StatusCode.PERMISSION_DENIED, f"{method} is not open to any caller")
    if rule.role is Role.ADMIN and peer.role != "admin":
        return Refusal(grpc.StatusCode.PERMISSION_DENIED,
                       f"the {service} API needs the admin credential; the caller has "
                       f"{_holds(peer)}")
    if rule.role is Role.NODE and peer.role != "node":
        return Refusal(grpc.StatusCode.UNAUTHENTICATED,
                       f"this call needs a node certificate; the caller has {_holds(peer)}")
    if rule.role is Role.JOINING and peer.role not in ("join", "node"):
        return Refusal(grpc.StatusCode.UNAUTHENTICATED,
                       "register needs the join token's certificate or a node certificate")
    return None


def field_value(message: Any, path: str) -> str:
    """The string at a dotted field path of a protobuf message. Pure."""
    value: Any = message
    for part in path.split("."):
        value = getattr(value, part)
    return str(value)


@dataclass(frozen=True)
class Undecodable:
    """Stands for a request message that did not parse."""

    reason: str


def refuse_message(rule: Rule, peer: Peer, message: Any) -> Refusal | None:
    """Why `peer` may not send `message` under `rule`, or None: it must parse, and the node
    it is about must be the certificate's own. Pure."""
    if isinstance(message, Undecodable):
        return Refusal(grpc.StatusCode.INVALID_ARGUMENT,
                       f"the request is not valid protobuf: {message.reason}")
    if not rule.node_field:
        return None
    node = field_value(message, rule.node_field)
    if node != peer.name:
        return Refusal(grpc.StatusCode.PERMISSION_DENIED,
                       f"the certificate is for node {peer.name}, not {node or '(none)'}")
    return None


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


Identify = Callable[[grpc.aio.ServicerContext], Peer]


class RoleInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps every rpc's handler so the table above is checked before the servicer runs."""

    def __init__(self, identify: Identify) -> None:
        self._identify = identify

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        return _guard(handler, details.method, rule_for(details.method), self._identify)


def tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that returns `Undecodable` instead of raising, so a garbage request
    reaches the checks above rather than gRPC's traceback logging."""
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except (DecodeError, ValueError) as exc:
            return Undecodable(" ".join(str(exc).split()) or type(exc).__name__)
    return parse


def _guard(handler: grpc.RpcMethodHandler, method: str, rule: Rule | None,
           identify: Identify) -> grpc.RpcMethodHandler:
    async def admit(context: grpc.aio.ServicerContext) -> Peer:
        peer = identify(context)
        refusal = refuse_caller(method, rule, peer)
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)
        CALLER.set(peer)
        return peer

    async def admit_one(request: Any, context: grpc.aio.ServicerContext) -> None:
        peer = await admit(context)
        refusal = refuse_message(rule, peer, request) if rule else None
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)

    def checked(requests: AsyncIterator[Any], peer: Peer) -> AsyncIterator[Any]:
        async def each() -> AsyncIterator[Any]:
            async for msg in requests:
                refusal = refuse_message(rule, peer, msg) if rule else None
                if refusal is not None:
                    raise _Refused(refusal)
                yield msg
        return each()

    def wrap(inner: Callable[..., Any], *, streams_in: bool) -> Callable[..., Any]:
        async def enter(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if streams_in:
                return checked(request, await admit(context))
            await admit_one(request, context)
            return request

        if inspect.isasyncgenfunction(inner):
            async def streaming(request: Any, context: grpc.aio.ServicerContext
                                ) -> AsyncIterator[Any]:
                request = await enter(request, context)
                try:
                    async for item in inner(request, context):
                        yield item
                except _Refused as exc:
                    await context.abort(exc.refusal.code, exc.refusal.message)
            return streaming

        async def single(request: Any, context: grpc.aio.ServicerContext) -> Any:
            request = await enter(request, context)
            try:
                return await inner(request, context)
            except _Refused as exc:
                await context.abort(exc.refusal.code, exc.refusal.message)
        return single

    kinds = (
        ("unary_unary", grpc.unary_unary_rpc_method_handler, False),
        ("unary_stream", grpc.unary_stream_rpc_method_handler, False),
        ("stream_unary", grpc.stream_unary_rpc_method_handler, True),
        ("stream_stream", grpc.stream_stream_rpc_method_handler, True),
    )
    for attr, make, streams_in in kinds:
        inner = getattr(handler, attr)
        if inner is not None:
            return make(wrap(inner, streams_in=streams_in),
                        request_deserializer=tolerant(handler.request_deserializer),
                        response_serializer=passing(handler.response_serializer))
    return handler


def passing(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    """A serializer that sends bytes as they are: a reply already serialized (a table
    every session sends, serialized once) is not serialized again per session."""
    if serialize is None:
        return None

    def out(message: Any) -> bytes:
        return message if isinstance(message, bytes) else serialize(message)
    return out
