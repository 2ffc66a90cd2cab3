"""The CLI's gRPC client: one channel, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from dockyard.v1 import control_pb2_grpc

T = TypeVar("T")


class CliError(Exception):
    """A failure to show the user as one line."""


def control_stub(address: str) -> control_pb2_grpc.ControlStub:
    channel = grpc.insecure_channel(address)
    return control_pb2_grpc.ControlStub(channel)


def call(address: str, fn: Callable[..., T], request: Any, *, timeout: float = 30.0) -> T:
    """Call an rpc; a failure becomes a CliError that reads well."""
    try:
        return fn(request, timeout=timeout)
    except grpc.RpcError as exc:
        raise CliError(describe_rpc_error(exc, address)) from None


def describe_rpc_error(exc: grpc.RpcError, address: str) -> str:
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    if code == grpc.StatusCode.UNAVAILABLE and (
        "connect" in details.lower() or "unavailable" in details.lower() or not details
        or "socket" in details.lower() or "refused" in details.lower()
    ):
        if "etcd" in details:
            return f"server at {address} cannot reach etcd: {details}"
        return f"server unreachable at {address}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"server at {address} did not answer in time"
    return details.splitlines()[0] if details else f"request failed: {code}"
