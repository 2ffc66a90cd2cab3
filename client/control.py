"""The CLI's gRPC client: one mutual-TLS channel with the admin credential, one-line errors.

The credential file (DATA_DIR/admin.pem, copied to ~/.dockyard/admin.pem) holds three PEM
blocks: the admin certificate, its key and the cluster CA certificate. The server is
verified as `dockyard-server`, the name every control-plane replica's certificate carries.

A cluster may have several control-plane replicas, and every one serves the Control API.
The client is given their addresses ("A,B,C") and moves to the next one when a call finds
its server down (gRPC UNAVAILABLE: refused, reset, or no answer to the TCP connect within
a few seconds), over a bounded number of rounds with a growing pause between rounds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc

from dockyard.client.errors import CliError
from dockyard.v1 import control_pb2, control_pb2_grpc

__all__ = ["CliError", "ControlClient", "call", "control_stub", "describe_rpc_error",
           "load_credentials"]

T = TypeVar("T")

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


def _message_limits() -> list[tuple[str, Any]]:
    """The server's message limits, stated on this end too (docs/limits.md)."""
    from dockyard.common.spec.rules import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES

    return [("grpc.max_send_message_length", MAX_REQUEST_BYTES),
            ("grpc.max_receive_message_length", MAX_RESPONSE_BYTES)]


def control_stub(address: str, credentials: Path) -> ControlClient:
    """The Control API at `address`: one HOST:PORT, or several separated by commas."""
    return ControlClient([a.strip() for a in address.split(",") if a.strip()], credentials)


# Only the first connect to each address waits this long for the TCP handshake, when
# there is another address to move to (gRPC's own default is 20 s).
_CONNECT_TIMEOUT_MS = 3000
_STREAMING = {m.name for m in control_pb2.DESCRIPTOR.services_by_name["Control"].methods
              if m.server_streaming and not m.client_streaming}


def moves_on(exc: grpc.RpcError) -> bool:
    """Whether a failed call should be tried on the next server address. Pure."""
    return hasattr(exc, "code") and exc.code() == grpc.StatusCode.UNAVAILABLE


class ControlClient:
    """The Control API over a list of server addresses, used like a generated stub:
    `client.ListNodes(request, timeout=...)`. A call that finds its server down moves to
    the next address; after a whole round of failures it pauses (`backoff_s`, doubling)
    and tries again, `rounds` times at most. The address that answered is kept first for
    the next call. A stream moves on only before its first message: after that, a
    broken stream is the caller's to report."""

    def __init__(self, addresses: Sequence[str], credentials: Path, *, rounds: int = 3,
                 backoff_s: float = 0.2) -> None:
        if not addresses:
            raise CliError("no server address (pass --server HOST:PORT)")
        cert, key, ca = load_credentials(credentials)
        self._creds = grpc.ssl_channel_credentials(ca, key, cert)
        self.addresses = tuple(addresses)
        self._rounds = max(1, rounds)
        self._backoff_s = backoff_s
        self._channels: dict[str, tuple[grpc.Channel, Any]] = {}
        self._first = 0

    def _stub(self, address: str) -> Any:
        if address not in self._channels:
            # A channel of its own (no subchannel shared with an earlier one), so a retry
            # after `_forget` really connects again instead of waiting out gRPC's backoff.
            options: list[tuple[str, Any]] = [("grpc.ssl_target_name_override", SERVER_NAME),
                                              ("grpc.use_local_subchannel_pool", 1)]
            options += _message_limits()
            if len(self.addresses) > 1:
                options.append(("grpc.min_reconnect_backoff_ms", _CONNECT_TIMEOUT_MS))
            channel = grpc.secure_channel(address, self._creds, options=options)
            self._channels[address] = (channel, control_pb2_grpc.ControlStub(channel))
        return self._channels[address][1]

    def _forget(self, address: str) -> None:
        """Drop a failed address's channel: the next try opens a new connection."""
        channel, _ = self._channels.pop(address, (None, None))
        if channel is not None:
            channel.close()

    def _order(self) -> Iterator[tuple[int, str]]:
        """Every address once per round, starting with the one that answered last."""
        for round_no in range(self._rounds):
            if round_no:
                time.sleep(self._backoff_s * 2 ** (round_no - 1))
            n = len(self.addresses)
            for k in range(n):
                i = (self._first + k) % n
                yield i, self.addresses[i]

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        if method in _STREAMING:
            return lambda request, **kw: self._stream(method, request, **kw)
        return lambda request, **kw: self._unary(method, request, **kw)

    def _unary(self, method: str, request: Any, **kw: Any) -> Any:
        last: grpc.RpcError | None = None
        for i, address in self._order():
            try:
                result = getattr(self._stub(address), method)(request, **kw)
            except grpc.RpcError as exc:
                if not moves_on(exc):
                    raise
                last = exc
                self._forget(address)
                continue
            self._first = i
            return result
        assert last is not None
        raise last

    def _stream(self, method: str, request: Any, **kw: Any) -> Iterator[Any]:
        return self._moving(lambda stub: getattr(stub, method)(request, **kw))

    def exec_stream(self, requests: Callable[[], Iterator[Any]], **kw: Any) -> Iterator[Any]:
        """The Exec call, whose requests are a stream: `requests()` makes them afresh for
        each server tried. Besides a server that is down, it moves on from one that does
        not hold the node's session (ABORTED)."""
        return self._moving(lambda stub: stub.Exec(requests(), **kw),
                            also=grpc.StatusCode.ABORTED)

    def _moving(self, open_call: Callable[[Any], Any],
                also: grpc.StatusCode | None = None) -> Iterator[Any]:
        """A streaming call that moves to the next address before its first message
        only: on UNAVAILABLE, or on the `also` code."""
        last: grpc.RpcError | None = None
        for i, address in self._order():
            stream = open_call(self._stub(address))
            started = False
            try:
                for item in stream:
                    if not started:
                        started, self._first = True, i
                    yield item
                return
            except grpc.RpcError as exc:
                down = moves_on(exc)
                if started or not (down or (also is not None and exc.code() == also)):
                    raise
                last = exc
            finally:
                stream.cancel()
            if down:
                self._forget(address)
        assert last is not None
        raise last


def call(address: str, fn: Callable[..., T], request: Any, *, timeout: float = 30.0) -> T:
    """Call an rpc; a failure becomes a CliError that reads well."""
    from dockyard.common.spec.rules import MAX_REQUEST_BYTES, format_size

    size = request.ByteSize() if hasattr(request, "ByteSize") else 0
    if size > MAX_REQUEST_BYTES:
        raise CliError(f"the request is {format_size(size)}; the server accepts at most "
                       f"{format_size(MAX_REQUEST_BYTES)} (see docs/limits.md)")
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
        if "," in address:
            return f"no server reachable at {address.replace(',', ', ')}"
        return f"server unreachable at {address}"
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details:
        from dockyard.common.spec.rules import MAX_REQUEST_BYTES, format_size

        return (f"the message is larger than {format_size(MAX_REQUEST_BYTES)}, the most the "
                "server accepts (see docs/limits.md)")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"server at {address} did not answer in time"
    return details.splitlines()[0] if details else f"request failed: {code}"
