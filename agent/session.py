"""The agent's session with the control plane: register, stream, heartbeat, report.

It dials one of the control-plane addresses, registers, and holds one Session stream.
Heartbeats go at the period the server sets, jittered, one at a time; a slow server
gets longer timeouts rather than the same request again. Status updates are batched.
When anything breaks (a refused or timed-out connection, a slow TLS handshake, an rpc
deadline), it reconnects to the next address after an exponential backoff with jitter,
longer when the server said it is overloaded, so a slow control plane sees agents spread
out instead of all coming back at once (the waits: agent/backoff.py). Only what waiting
cannot fix is final: a refused join token, a bad or taken node name. An agent stopping
on SIGTERM says so (`leave`): the server then keeps its node ready for a while, so a
restart moves no task.

Everything is mutual TLS (agent/identity.py): the first Register goes with a join
certificate made from the token and returns the node certificate, which is kept on disk
(`identity_file`), so a restarted agent is the same node; later sessions use that
certificate. At 2/3 of its lifetime the agent renews it (Renew, with a new key) and
reconnects with the new one, without a restart. If the operator removed the node
(`dockyard node rm`), the agent drops its certificate and joins again with the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import grpc

from dockyard.agent import heartbeats, statusflush
from dockyard.agent import identity as ident
from dockyard.agent.backoff import (
    RetryWindow,
    backoff_s,
    heartbeat_timeout_s,
    heartbeat_wait_s,
    keeps_checked_ca,
    register_retry_s,
    register_timeout_s,
    retry_hint_s,
    session_backoff_s,
    status_retry_s,
    status_timeout_s,
)
from dockyard.agent.builds import run_build
from dockyard.agent.exec import run_exec
from dockyard.agent.logs import publish_logs
from dockyard.agent.runner import Runner
from dockyard.agent.statusflush import StatusBatch as StatusBatch
from dockyard.agent.volumes import VolumeRemover
from dockyard.common import peertable
from dockyard.common.jointoken import split_token
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

log = logging.getLogger("dockyard.agent")

_LEAVE_TIMEOUT_S = 2.0
# What a Register answer with these codes means cannot change by waiting.
_FINAL = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
          grpc.StatusCode.INVALID_ARGUMENT)


class JoinRefused(Exception):
    """The control plane refused this agent; retrying cannot help."""


class Renewed(Exception):
    """The node certificate was renewed: reconnect with it."""


class NodeRemoved(Exception):
    """The operator removed this node: drop the certificate and join again."""


class Session:
    def __init__(
        self,
        *,
        addresses: Sequence[str],
        token: str,
        description: objects_pb2.NodeDescription,
        runner: Runner,
        batch: StatusBatch,
        identity_file: Path | None = None,
        rand: Callable[[], float] = random.random,
        on_register: Callable[[dispatcher_pb2.RegisterResponse], Awaitable[None]] | None = None,
        on_peers: Callable[[Sequence[dispatcher_pb2.Peer]], None] | None = None,
        on_network: Callable[[dispatcher_pb2.NetworkTable], None] | None = None,
    ) -> None:
        self._addresses = list(addresses)
        self._token = token
        self._desc = description
        self._runner = runner
        self._batch = batch
        self._identity_file = identity_file
        self._rand = rand
        self.identity = self._kept_identity() or ident.Identity.fresh(description.name)
        self._log_streams: set[asyncio.Task[None]] = set()
        self._builds: dispatcher_pb2_grpc.BuildsStub | None = None
        # The node network (agent/network): set up before any assignment is taken.
        self._on_register = on_register
        self._on_peers = on_peers
        self._on_network = on_network
        self._registered = False
        self._failures = 0
        self._stopping = False
        self._live: tuple[dispatcher_pb2_grpc.SessionsStub, str] | None = None
        # Set while Leave is in flight: the session's channel stays open until it is
        # answered (the server ends the session stream as it takes the leave, and
        # closing the channel then would cancel the Leave call itself).
        self._leaving: asyncio.Future[None] | None = None
        self._volumes = VolumeRemover(runner)  # `delete app --volumes`

    async def leave(self) -> float:
        """Tell the server this agent is stopping and will be back (SIGTERM: an upgrade or
        a restart), so it keeps the node ready for a while instead of moving its tasks;
        no reconnecting after this. Returns the seconds the server keeps the node
        ready; 0 when it could not be told (it then judges the node by its heartbeats)."""
        self._stopping = True
        if self._live is None:
            return 0.0
        stub, sid = self._live
        self._leaving = asyncio.get_running_loop().create_future()
        try:
            reply = await stub.Leave(
                dispatcher_pb2.LeaveRequest(node=self._desc.name, session_id=sid),
                timeout=_LEAVE_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            log.warning("could not tell the control plane this agent is stopping: %s",
                        exc.details() or exc.code())
            return 0.0
        finally:
            self._leaving.set_result(None)
        return float(reply.grace_ms) / 1000

    def _kept_identity(self) -> ident.Identity | None:
        """The certificate kept from an earlier run, unless it is another cluster's (the
        token names a different CA)."""
        if self._identity_file is None:
            return None
        kept = ident.Identity.load(self._identity_file, self._desc.name)
        digest = split_token(self._token)[0] if self._token else None
        if kept is not None and digest is not None and kept.ca_digest() != digest:
            log.info("the kept node certificate is another cluster's; joining with the token")
            return None
        return kept

    def _keep(self) -> None:
        if self._identity_file is not None:
            try:
                self.identity.save(self._identity_file)
            except OSError as exc:
                log.warning("cannot keep the node certificate in %s: %s",
                            self._identity_file, exc.strerror or exc)

    def _forget(self) -> None:
        self.identity = ident.Identity.fresh(self._desc.name)
        if self._identity_file is not None:
            self._identity_file.unlink(missing_ok=True)

    async def run_forever(self) -> None:
        """Hold a session until cancelled or `leave`; only a refused join ends it. Every
        other failure (unreachable, slow, a TLS handshake timing out) is retried after a
        jittered backoff."""
        attempt = 0
        while not self._stopping:
            address = self._addresses[attempt % len(self._addresses)]
            attempt += 1
            self._registered = False
            try:
                await self._one_session(address)
                self._failures = 0
            except JoinRefused:
                raise
            except Renewed:
                log.info("node certificate renewed; reconnecting with it")
                self._failures = 0
                continue
            except NodeRemoved as exc:
                log.warning("%s", exc)
                self._forget()
            except (grpc.aio.AioRpcError, OSError) as exc:
                # OSError covers ConnectionError, TimeoutError (a slow TLS handshake) and
                # ssl.SSLError: the server is unreachable or slow, which waiting can fix.
                if self._stopping:
                    return
                code = exc.code() if isinstance(exc, grpc.aio.AioRpcError) else None
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                self._failures = 1 if self._registered else self._failures + 1
                delay = session_backoff_s(self._failures, self._rand(), code)
                log.warning("session with %s ended: %s; reconnecting in %.1fs",
                            address, detail or code or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if self._stopping:
                return
            await asyncio.sleep(backoff_s(1, self._rand()))

    async def _join(self, address: str) -> dispatcher_pb2.RegisterResponse:
        """Register with a join certificate made from the token; keep the node certificate."""
        if not self._token:
            raise JoinRefused("no join token: pass --token-file FILE or set DOCKYARD_TOKEN "
                              "(this node has no certificate yet)")
        _digest, secret = split_token(self._token)
        cert, key = ident.join_certificate(secret, self._desc.name)  # the probe's and Register's
        try:
            ca = await ident.CHECKED.check(address, self._token, lambda: asyncio.to_thread(
                ident.trusted_ca, address, self._token, self._desc.name, (cert, key)))
        except ident.TokenRefused as exc:
            raise JoinRefused(str(exc)) from None
        creds = ident.join_credentials(ca, cert, key)
        try:
            async with grpc.aio.secure_channel(address, creds,
                                               options=ident.CHANNEL_OPTIONS) as channel:
                reg = await self._register(dispatcher_pb2_grpc.CertificatesStub(channel),
                                           address, csr=self.identity.csr())
        except grpc.aio.AioRpcError as exc:
            if not keeps_checked_ca(exc.code()):
                ident.CHECKED.forget(address, self._token)  # check the server again next time
            raise
        except BaseException:
            ident.CHECKED.forget(address, self._token)
            raise
        if not reg.certificate:
            raise ConnectionError(f"{address} sent no node certificate")
        self.identity.adopt(reg.certificate, reg.ca_certificate or ca)
        self._keep()
        log.info("joined through %s; node certificate valid %.0fs", address,
                 self.identity.expires() - self.identity.received)
        return reg

    async def _register(self, stub: dispatcher_pb2_grpc.CertificatesStub, address: str,
                        csr: bytes = b"") -> dispatcher_pb2.RegisterResponse:
        """Register on `stub`'s connection. A server with too many joins says so at once
        (RESOURCE_EXHAUSTED, with a wait): the agent waits (`register_retry_s`) and asks
        again on the same connection, for as long as it takes, at no cost of a new TLS
        handshake. A Register that waited out its deadline in a busy server's queue, or
        that its gRPC core cancelled there, ends the attempt instead: the session's
        backoff (`session_backoff_s`, 0.5-15 s overloaded) and a longer deadline
        follow, and another replica is tried, so a wedged replica holds no agent. A
        Register repeated after a lost answer is safe: the same key gets the same node
        back (controlplane/api/certificates.py)."""
        refusals = 0
        while True:
            try:
                reply: dispatcher_pb2.RegisterResponse = await stub.Register(
                    dispatcher_pb2.RegisterRequest(description=self._desc, csr=csr),
                    timeout=register_timeout_s(self._failures))
                return reply
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise NodeRemoved(exc.details() or "node removed") from None
                if exc.code() in _FINAL:
                    raise JoinRefused(f"join refused by {address}: {exc.details()}") from None
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or self._stopping:
                    raise
                refusals += 1
                wait = register_retry_s(refusals, self._rand(), retry_hint_s(exc))
                if refusals == 1 or refusals % 10 == 0:  # a line, not a flood
                    log.warning("register with %s: %s (%d in a row); asking again in %.1fs",
                                address, exc.details() or exc.code(), refusals, wait)
                await asyncio.sleep(wait)

    async def _one_session(self, address: str) -> None:
        reg = await self._join(address) if not self.identity.usable() else None
        async with grpc.aio.secure_channel(address, self.identity.credentials(),
                                           options=ident.CHANNEL_OPTIONS) as channel:
            certs = dispatcher_pb2_grpc.CertificatesStub(channel)
            stub = dispatcher_pb2_grpc.SessionsStub(channel)
            logs = dispatcher_pb2_grpc.LogBrokerStub(channel)
            self._builds = dispatcher_pb2_grpc.BuildsStub(channel)
            if reg is None:
                reg = await self._register(certs, address)
            log.info("registered with %s as %s", address, self._desc.name)
            if self._on_register is not None:
                await self._on_register(reg)
            self._registered = True  # a session that worked: backoff starts over
            sid = reg.session_id
            name = self._desc.name
            period = reg.heartbeat_period_ms / 1000 or 1.0
            self._runner.resend_all()
            self._live = (stub, sid)
            helpers = [
                asyncio.create_task(self._heartbeats(stub, name, sid, period)),
                asyncio.create_task(self._flusher(stub, name, sid)),
                asyncio.create_task(self._renewer(certs)),
                asyncio.create_task(self._volumes.run(stub, name, sid)),
            ]
            try:
                stream = stub.Session(dispatcher_pb2.SessionRequest(node=name, session_id=sid))
                reader = asyncio.create_task(self._read(stream, logs, name))
                done, _ = await asyncio.wait(
                    [reader, *helpers], return_when=asyncio.FIRST_COMPLETED
                )
                if reader not in done:
                    reader.cancel()
                for t in done:
                    t.result()  # re-raise what ended the session
            finally:
                self._live = None
                for t in helpers:
                    t.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                if self._leaving is not None:  # the channel outlives the Leave call
                    await asyncio.wait([self._leaving], timeout=_LEAVE_TIMEOUT_S)

    async def _renewer(self, stub: dispatcher_pb2_grpc.CertificatesStub) -> None:
        """At 2/3 of the certificate's life: a new key, a new certificate, a new session."""
        while True:
            await asyncio.sleep(self.identity.renew_in())
            key = ident.new_key()
            try:
                reply = await stub.Renew(
                    dispatcher_pb2.RenewRequest(csr=self.identity.csr(key)), timeout=5)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise NodeRemoved(exc.details() or "node removed") from None
                log.warning("certificate renewal failed: %s; retrying", exc.details())
                await asyncio.sleep(min(5.0, max(0.5, self.identity.renew_in() / 10)))
                continue
            self.identity.adopt(reply.certificate, reply.ca_certificate, key)
            self._keep()
            raise Renewed()

    async def _read(
        self, stream: grpc.aio.UnaryStreamCall, stub: dispatcher_pb2_grpc.LogBrokerStub,
        node: str,
    ) -> None:
        peers: dict[str, peertable.PeerRow] | None = None  # this session's node table
        async for msg in stream:
            if self._on_peers is not None and (msg.has_peers or msg.peer_changes):
                # The whole table first, then changes to it (common/peertable.py); the
                # table is every node's, this one's too. Kept only for a listener (the
                # node network): without one (a hollow node) it would be a table of
                # every node for nothing, 2 ms of CPU for a new session's 1,000 rows.
                peers = peertable.apply(peers, msg)
                if peers is not None:
                    self._on_peers(peertable.peers_of(peers, skip=node))
            if msg.has_network and self._on_network is not None:
                self._on_network(msg.network)
            self._runner.assign(msg)
            self._volumes.want(msg)
            for sub in msg.subscriptions:
                serve = run_exec if sub.HasField("exec") else publish_logs
                task = asyncio.create_task(serve(
                    stub=stub, node=node, sub=sub, driver=self._runner.driver,
                    container_of=self._runner.container_of))
                self._log_streams.add(task)
                task.add_done_callback(self._log_streams.discard)
            for order in msg.builds:
                assert self._builds is not None  # set with the session's channel
                task = asyncio.create_task(run_build(
                    stub=self._builds, node=node,
                    order=order, driver=self._runner.driver))
                self._log_streams.add(task)
                task.add_done_callback(self._log_streams.discard)
        raise ConnectionError("the control plane closed the session")

    async def _heartbeats(
        self, stub: dispatcher_pb2_grpc.SessionsStub, node: str, sid: str, period: float
    ) -> None:
        """Heartbeat about every `period` on one stream (agent/heartbeats.py); to a
        server without it, one call at a time. A slow or unreachable server is
        retried with jittered backoff and longer timeouts, for up to
        backoff._HEARTBEAT_GIVE_UP_S; an answer that the session is gone ends it at once."""
        with contextlib.suppress(heartbeats.Unsupported):
            await heartbeats.beat(
                stub, node=node, session_id=sid, period=period,
                wait_s=lambda p: heartbeat_wait_s(p, 0, self._rand()),
                backoff_s=lambda n: backoff_s(n, self._rand()))
        window = RetryWindow(asyncio.get_running_loop().time)
        while True:
            await asyncio.sleep(heartbeat_wait_s(period, window.failures, self._rand()))
            try:
                reply = await stub.Heartbeat(
                    dispatcher_pb2.HeartbeatRequest(node=node, session_id=sid),
                    timeout=heartbeat_timeout_s(period, window.failures))
            except grpc.aio.AioRpcError as exc:
                if not window.retry_after(exc.code()):
                    raise
                log.warning("heartbeat failed: %s; retrying", exc.details() or exc.code())
                continue
            window.ok()
            period = reply.period_ms / 1000 or period

    async def _flusher(self, stub: dispatcher_pb2_grpc.SessionsStub, node: str, sid: str) -> None:
        """Send the batched statuses on one stream (agent/statusflush.py); to a server
        without it, one call per batch."""
        with contextlib.suppress(statusflush.Unsupported):
            await statusflush.stream(
                stub, self._batch, node=node, session_id=sid,
                retry_s=lambda code, n, hint: status_retry_s(code, n, self._rand(), hint),
                timeout_s=status_timeout_s)
        await statusflush.calls(
            stub, self._batch, node=node, session_id=sid,
            retry_s=lambda code, n, hint: status_retry_s(code, n, self._rand(), hint),
            timeout_s=status_timeout_s)
