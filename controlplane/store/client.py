"""The etcd client Dockyard dials with: `aetcd.Client`, plus client TLS, a raised message
limit and one page of a range read.

Why an adapter and not another client: aetcd is the maintained asyncio etcd client (see
docs/architecture.md), but its 1.0 `connect` opens `grpc.aio.insecure_channel` only and
its range requests carry no `limit` or `revision`. Both gaps are small, so `Client`
below overrides `connect` to open `grpc.aio.secure_channel` when given `ClientTls`, and
adds `range_page`; every other call (puts, transactions, leases, watches) is aetcd's own,
running on the channel opened here.

Authentication: an etcd with `--client-cert-auth` and auth enabled takes the user name
from the client certificate's common name, so the certificate alone is the credential;
no password or token travels with the requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aetcd
import aetcd.exceptions
import grpc
from aetcd import rpc, watcher

# gRPC's default receive limit is 4 MiB. etcd refuses any single value over its
# --max-request-bytes (1.5 MiB by default), so 64 MiB holds a full page of the largest
# values; `range_page` callers shrink the page when even that is exceeded.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
}


class PageTooLarge(Exception):
    """A range page exceeded the receive limit: ask again for fewer keys."""


@dataclass(frozen=True, slots=True)
class ClientTls:
    """PEM material for mutual TLS to etcd: the CA that signed etcd's certificate, and
    this client's certificate and key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def from_files(cls, cacert: Path, cert: Path, key: Path) -> ClientTls:
        """Read the three files; ValueError with one line naming the one that failed."""
        parts: list[bytes] = []
        for what, path in (("--etcd-cacert", cacert), ("--etcd-cert", cert),
                           ("--etcd-key", key)):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ValueError(f"{what} {path}: {exc.strerror or exc}") from None
            if b"-----BEGIN " not in data:
                raise ValueError(f"{what} {path}: not a PEM file")
            parts.append(data)
        return cls(parts[0], parts[1], parts[2])


class Client(aetcd.Client):  # type: ignore[misc]  # aetcd ships no type hints
    """aetcd's client over a channel with a raised message limit, and TLS if given."""

    def __init__(self, *, host: str, port: int, timeout: float,
                 tls: ClientTls | None = None) -> None:
        super().__init__(host=host, port=port, timeout=timeout, options=dict(CHANNEL_OPTIONS))
        self._tls = tls

    async def connect(self) -> None:
        if self._tls is None:
            await super().connect()
            return
        if self._connected.is_set():
            return
        creds = grpc.ssl_channel_credentials(
            root_certificates=self._tls.ca_pem,
            private_key=self._tls.key_pem,
            certificate_chain=self._tls.cert_pem,
        )
        self.channel = grpc.aio.secure_channel(
            f"{self._host}:{self._port}", creds, options=list(CHANNEL_OPTIONS.items()))
        # The same stubs aetcd's own connect builds, on the secure channel.
        self.kvstub = rpc.KVStub(self.channel)
        self.clusterstub = rpc.ClusterStub(self.channel)
        self.leasestub = rpc.LeaseStub(self.channel)
        self.maintenancestub = rpc.MaintenanceStub(self.channel)
        self.auth_stub = rpc.AuthStub(self.channel)
        self._watcher = watcher.Watcher(
            rpc.WatchStub(self.channel), timeout=self._timeout, metadata=self.metadata)
        self._connected.set()

    async def range_page(self, key: bytes, range_end: bytes, *, limit: int,
                         revision: int) -> Any:
        """One page of [key, range_end): at most `limit` keys in key order, at
        `revision` (0: the current one). The reply's `more` says whether keys remain."""
        await self.connect()
        request = rpc.RangeRequest(key=key, range_end=range_end, limit=limit,
                                   revision=revision)
        try:
            return await self.kvstub.Range(request, timeout=self._timeout,
                                           metadata=self.metadata)
        except rpc.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise PageTooLarge(exc.details()) from None
            aetcd.exceptions._handle_exception(exc)
            raise
