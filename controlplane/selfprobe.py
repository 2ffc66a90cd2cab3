"""How far behind this replica is in reading calls: it calls itself and times the answer.

A heartbeat that reaches a busy server first waits in gRPC's queue of calls not yet
handed to Python (the asyncio server takes them one at a time, and only between other
work on its event loop), then behind that work on the loop itself. The failure detector
already excuses the time the loop was stalled (a late tick, controlplane/liveness.py),
but not that queue: at a thousand nodes joining, heartbeats waited there until their
deadline, and nodes that had sent them on time were declared down.

So the replica sends itself one trivial call at a time (the gRPC health check, over
loopback, through the same port, queue and loop as every heartbeat) and keeps how long
it took. While it is `behind_s` seconds behind, heartbeats sent in the last `behind_s`
seconds may simply not have been read yet: the detector does not count that much
silence against anyone. A call still unanswered counts for as long as it has waited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dockyard.controlplane.security import pki

log = logging.getLogger(__name__)

PROBE_EVERY_S = 0.25
PROBE_TIMEOUT_S = 30.0


class SelfProbe:
    """One call to itself at a time; `behind_s()` is the latest answer's delay, or the
    age of the call still waiting, whichever is longer."""

    def __init__(self, call: Callable[[float], Awaitable[object]], *,
                 every_s: float = PROBE_EVERY_S, timeout_s: float = PROBE_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._call = call
        self._every_s = every_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._sent: float | None = None
        self.last_s = 0.0
        self.worst_s = 0.0

    def behind_s(self) -> float:
        waiting = self._clock() - self._sent if self._sent is not None else 0.0
        return max(self.last_s, waiting)

    async def run(self) -> None:
        while True:
            self._sent = self._clock()
            try:
                await self._call(self._timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an error took as long as it took; keep probing
                log.debug("self-probe failed: %s", exc)
            took = self._clock() - self._sent
            self._sent = None
            self.last_s = took
            self.worst_s = max(self.worst_s, took)
            await asyncio.sleep(self._every_s)


def own_address(listen: str) -> str:
    """Where this replica reaches its own gRPC port: loopback for a wildcard listen
    address. Pure."""
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0"):
        return f"127.0.0.1:{port}"
    if host in ("[::]", "::"):
        return f"[::1]:{port}"
    return listen


def health_call(listen: str, ca: pki.ClusterCA) -> tuple[
        grpc.aio.Channel, Callable[[float], Awaitable[object]]]:
    """A channel to this replica's own port and the health check to time on it, with a
    credential made in memory (it never leaves the process; the CA key is here anyway)."""
    cert, key = pki.issue_with_key(ca, cn="self-probe", ou=pki.OU_ADMIN,
                                   valid_s=10 * 365 * 86400)
    creds = grpc.ssl_channel_credentials(ca.cert_pem, key, cert)
    channel = grpc.aio.secure_channel(
        own_address(listen), creds,
        options=[("grpc.ssl_target_name_override", pki.SERVER_NAME)])
    stub = health_pb2_grpc.HealthStub(channel)

    async def call(timeout_s: float) -> object:
        return await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)

    return channel, call
