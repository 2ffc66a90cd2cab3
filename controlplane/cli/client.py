"""The CLI's gRPC client: one mutual-TLS channel with the admin credential, one-line errors.

The credential file (DATA_DIR/admin.pem, copied to ~/.dockyard/admin.pem) holds three PEM
blocks: the admin certificate, its key and the cluster CA certificate. The server is
verified as `dockyard-server`, the name every control-plane replica's certificate carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from dockyard.v1 import control_pb2_grpc

T = TypeVar("T")


class CliError(Exception):
    """A failure to show the user as one line."""


SERVER_NAME = "dockyard-server"
_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)


def load_credentials(path: Path) -> tuple[bytes, bytes, bytes]:
    """(certificate, key, CA certificate) from an admin credential file."""
    hint = "pass --credentials FILE or set DOCKYARD_CREDENTIALS (the server writes " \
           "DATA_DIR/admin.pem)"
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"no admin credential at {path}: {hint}") from None
    except OSError as exc:
        raise CliError(f"cannot read the admin credential {path}: {exc.strerror}") from None
    certs = [m.group(0) for m in _PEM.finditer(text) if m.group(1) == b"CERTIFICATE"]
    keys = [m.group(0) for m in _PEM.finditer(text) if m.group(1).endswith(b"PRIVATE KEY")]
    if len(certs) != 2 or len(keys) != 1:
        raise CliError(f"{path} is not an admin credential (want certificate, key and CA "
                       f"certificate in PEM); {hint}")
    return certs[0], keys[0], certs[1]


def control_stub(address: str, credentials: Path) -> control_pb2_grpc.ControlStub:
    cert, key, ca = load_credentials(credentials)
    creds = grpc.ssl_channel_credentials(ca, key, cert)
    channel = grpc.secure_channel(
        address, creds, options=[("grpc.ssl_target_name_override", SERVER_NAME)])
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
    if code == grpc.StatusCode.UNAVAILABLE and "handshake" in details.lower():
        return (f"TLS with {address} failed: the server is not the cluster of this admin "
                "credential, or does not speak TLS")
    if code == grpc.StatusCode.UNAVAILABLE and "socket closed" in details.lower():
        return (f"server at {address} closed the connection: it did not accept this admin "
                "credential (another cluster's?)")
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
