"""Node certificates: Register (the first certificate, made from the join token, or a
reconnect with the node's own) and Renew.

Node identity rules (docs/security.md):
- a node name is one DNS label (common/names.py);
- a join certificate may register only a name that no node has: taking over an existing
  node's name needs that node's certificate, or the operator's `dockyard node rm` first
  (refused while the node is alive). A join repeated with the key that made the node
  (its first answer was lost to a timeout) gets that node back;
- a node certificate registers and renews only while its node exists, so a removed node
  must join again with the token;
- joins are rate-limited per source address (controlplane/security/ratelimit.py); the
  refusal carries its wait (common/retryhint.py), which the agent honours on the same
  connection.

Which certificate may call which rpc, and that the name asked for is the certificate's
own, is checked before these run (controlplane/api/roles.py).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import TYPE_CHECKING

import grpc

from dockyard.common.names import node_name_problem
from dockyard.common.retryhint import retry_after_metadata
from dockyard.controlplane.api.roles import caller
from dockyard.controlplane.api.sessionregistry import SessionRegistry, new_session_id
from dockyard.controlplane.network.claims import SubnetClaims
from dockyard.controlplane.network.subnets import DEFAULT_CLUSTER_CIDR, SubnetError
from dockyard.controlplane.security import pki
from dockyard.controlplane.security.cluster import Tls
from dockyard.controlplane.security.ratelimit import SourceBuckets, source_address
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit, EtcdStore, StoreUnavailable
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2

if TYPE_CHECKING:
    from dockyard.controlplane.liveness import NodeLiveness

log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def name_taken(name: str) -> str:
    return (f"node {name} already exists: a node that lost its certificate joins under a "
            f"new name, or after `dockyard node rm {name}` (once it is down)")


def removed(name: str) -> str:
    return f"node {name} was removed (dockyard node rm); join again with the join token"


class CertificatesService(dispatcher_pb2_grpc.CertificatesServicer):
    def __init__(
        self,
        store: EtcdStore,
        *,
        tls: Tls,
        registry: SessionRegistry,
        liveness: NodeLiveness,
        joins: SourceBuckets,
        node_cert_s: float = 86400.0,
        heartbeat_s: float,
        cluster_cidr: ipaddress.IPv4Network | None = None,
        claims: SubnetClaims | None = None,
    ) -> None:
        self._store = store
        self._cidr = cluster_cidr or ipaddress.IPv4Network(DEFAULT_CLUSTER_CIDR)
        # Kept current by the server's task running `claims.run()`; until it is in sync
        # (or without it) registrations read the claims from etcd.
        self.claims = claims or SubnetClaims(store, self._cidr)
        self._tls = tls
        self._registry = registry
        self._liveness = liveness
        self._joins = joins
        self._node_cert_s = node_cert_s
        self._heartbeat_ms = int(heartbeat_s * 1000)

    async def Register(
        self, request: dispatcher_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.RegisterResponse:
        desc = request.description
        problem = node_name_problem(desc.name)
        if problem:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        if desc.name in pki.RESERVED_NAMES:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"{desc.name!r} is reserved; choose another node name")
        joining = caller().role == "join"
        if joining:
            source = source_address(context.peer() or "")
            wait = self._joins.take(source, time.monotonic())
            if wait > 0:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"too many joins from {source}; retry in {wait:.1f}s",
                                    trailing_metadata=retry_after_metadata(wait))
            if not request.csr:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "joining needs a certificate request (csr)")
        certificate = await self._sign(context, request.csr, desc.name) if request.csr else b""
        join_key = pki.csr_key_sha256(request.csr) if joining else ""
        session_id = new_session_id()
        try:
            lease_id, subnet = await self._record(desc, joining=join_key,
                                                  session_id=session_id)
        except _Refused as exc:
            await context.abort(exc.code, str(exc))
            raise AssertionError("unreachable") from None
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None
        except SubnetError as exc:
            # Final for the agent (FAILED_PRECONDITION would tell it the node was removed).
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from None
        self._registry.open(desc.name, lease_id, session_id)
        self._liveness.registered(desc.name, session_id)
        log.info("node %s %s (session %s)", desc.name, "joined" if joining else "registered",
                 session_id)
        return dispatcher_pb2.RegisterResponse(
            session_id=session_id, heartbeat_period_ms=self._heartbeat_ms,
            certificate=certificate, ca_certificate=self._tls.ca.cert_pem,
            subnet=subnet, cluster_cidr=str(self._cidr),
        )

    async def _sign(self, context: grpc.aio.ServicerContext, csr: bytes, node: str) -> bytes:
        try:
            return pki.sign_node_csr(self._tls.ca, csr, node, valid_s=self._node_cert_s)
        except pki.PkiError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from None

    async def Renew(
        self, request: dispatcher_pb2.RenewRequest, context: grpc.aio.ServicerContext
    ) -> dispatcher_pb2.RenewResponse:
        name = caller().name
        try:
            exists = await self._store.get(keys.node_key(name)) is not None
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("unreachable") from None
        if not exists:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, removed(name))
        certificate = await self._sign(context, request.csr, name)
        log.info("node %s renewed its certificate", name)
        return dispatcher_pb2.RenewResponse(certificate=certificate,
                                            ca_certificate=self._tls.ca.cert_pem)

    async def _record(
        self, desc: objects_pb2.NodeDescription, *, joining: str, session_id: str
    ) -> tuple[int, str]:
        """Write the node and its liveness key (on this replica's lease, the session id
        as its value: controlplane/liveness.py), claiming the node's subnet on first
        registration; the lease id and the node's subnet. A join (`joining`: the sha256
        of the key it asks a certificate for) may only make a new node, or repeat the
        join that made it with the same key (the first answer was lost to a timeout);
        a node certificate only updates its own node. A join first assumes the name is
        new and skips reading the node: the commit compares that the key is absent, so
        a name that exists costs one failed commit and a read, and a thousand nodes
        joining cost one etcd round trip each instead of two."""
        key = keys.node_key(desc.name)
        lease_id = await self._liveness.lease_id()
        for attempt in range(5):
            entry = None if joining and attempt == 0 else await self._store.get(key)
            now = typed.now_ms()
            if entry is None:
                if not joining:
                    raise _Refused(grpc.StatusCode.FAILED_PRECONDITION, removed(desc.name))
                node = objects_pb2.Node(availability=objects_pb2.ACTIVE,
                                        join_key_sha256=joining)
                node.meta.id = desc.name
                node.meta.created_ms = now
            else:
                node = decode(objects_pb2.Node, entry.value)
                if joining and joining != node.join_key_sha256:
                    raise _Refused(grpc.StatusCode.PERMISSION_DENIED, name_taken(desc.name))
            node.description.CopyFrom(desc)
            node.last_heartbeat_ms = now
            node.meta.updated_ms = now
            commit = Commit(expect={key: entry.mod_revision if entry else 0})
            claimed = await self.claims.claim_for(node, desc, commit)
            commit.puts[key] = encode(node)
            commit.lease_puts[keys.alive_key(desc.name)] = (session_id.encode(), lease_id)
            committed = False
            try:
                committed = await self._store.commit(commit)
            finally:
                self.claims.done(claimed, desc.name, committed=committed)
            if committed:
                return lease_id, node.subnet
            # The node changed meanwhile, or a claim was not as this replica's copy had it.
            await self.claims.refresh([*commit.expect, *commit.expect_value])
        raise StoreUnavailable(f"node {desc.name} kept changing during registration")
