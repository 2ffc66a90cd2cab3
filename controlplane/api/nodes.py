"""The Control rpcs an operator runs on hosts: drain or activate a node, remove one
that is down, release a node-local volume from its node.

They write node state the leader and the agents' sessions act on, and each refuses
what would lose work (a live node's removal, a volume still held), so they sit together.
"""

from __future__ import annotations

import grpc

from dockyard.controlplane import admission
from dockyard.controlplane.api import volumes
from dockyard.controlplane.api.base import ATTEMPTS, ControlBase, abort, refuse
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.network.subnets import claim_name
from dockyard.controlplane.store import keys, typed
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import Commit
from dockyard.v1 import control_pb2, objects_pb2


class NodeWrites(ControlBase):
    """SetAvailability, RemoveNode and ForgetVolume (see control.proto)."""

    async def SetAvailability(
        self, request: control_pb2.SetAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        await refuse(context,
                     admission.node_request_problem(request.node, request.availability))
        key = keys.node_key(request.node)
        for _ in range(ATTEMPTS):
            entry = await self._guard(context, self._store.get(key))
            if entry is None:
                await abort(context, grpc.StatusCode.NOT_FOUND, f"no node named {request.node!r}")
            node = decode(objects_pb2.Node, entry.value)
            node.availability = request.availability
            node.drain_force = request.force and request.availability == objects_pb2.DRAIN
            commit = Commit(expect={key: entry.mod_revision}, puts={key: encode(node)})
            if request.availability == objects_pb2.DRAIN and not request.force:
                await self._guard(context, volumes.drain_events(self._store, node.meta.id,
                                                                commit))
            if await self._guard(context, self._store.commit(commit)):
                self._on_change()
                return node
        await context.abort(grpc.StatusCode.ABORTED, "node kept changing; retry")
        raise AssertionError("unreachable")

    async def RemoveNode(
        self, request: control_pb2.RemoveNodeRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.RemoveNodeResponse:
        """Forget a node that is down, so its name may join again; refused while its
        liveness key (the lease its heartbeats keep) exists."""
        name = request.node
        key = keys.node_key(name)
        entry = await self._guard(context, self._store.get(key))
        if entry is None:
            return control_pb2.RemoveNodeResponse(removed=False)
        if await self._guard(context, self._store.get(keys.alive_key(name))) is not None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"node {name} is alive (its agent is heartbeating); stop its agent and wait "
                "until `dockyard get nodes` shows it down, or drain it instead")
        now = typed.now_ms()
        ev_key, ev_value = event_entry(app="", kind="node", obj=name, message="removed",
                                       now_ms=now)
        subnet = decode(objects_pb2.Node, entry.value).subnet
        freed = [keys.subnet_key(claim_name(subnet))] if subnet else []  # the node's /24
        commit = Commit(expect={key: entry.mod_revision, keys.alive_key(name): 0},
                        puts={ev_key: ev_value}, deletes=[key, *freed])
        if not await self._guard(context, self._store.commit(commit)):
            await context.abort(grpc.StatusCode.ABORTED,
                                f"node {name} changed (did its agent come back?); retry")
        if self._liveness is not None:
            self._liveness.forget(name)
        self._on_change()
        return control_pb2.RemoveNodeResponse(removed=True)

    async def ForgetVolume(
        self, request: control_pb2.ForgetVolumeRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ForgetVolumeResponse:
        await refuse(context, volumes.request_problem(request.app, request.volume))
        try:
            node = await self._guard(context, volumes.forget(self._store, request.app,
                                                             request.volume))
        except volumes.VolumeRefused as exc:
            await abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        self._on_change()
        return control_pb2.ForgetVolumeResponse(node=node)
