"""The log broker: container output travels agent -> control plane -> CLI.

Agents dial the control plane, never the other way round, so a `dockyard logs` request
becomes a subscription that rides each node's session stream; the node answers with a
PublishLogs stream, and the broker hands its chunks to the waiting Logs call. This
replica can only reach nodes whose sessions it holds; others get a notice.

`LogBroker` is the small interface the Control API's Logs call and the Sessions service
share; `LogBrokerService` is the PublishLogs rpc agents call. That every message's node is
the caller's own is checked by the role interceptor (controlplane/api/roles.py).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc

from dockyard.controlplane.api.exec import ExecChannels, node_stream
from dockyard.controlplane.api.outbox import SessionOutbox
from dockyard.controlplane.mirror import Mirror
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc


@dataclass
class Subscription:
    id: str
    queue: asyncio.Queue[dispatcher_pb2.PublishLogsMessage]
    pending: set[str] = field(default_factory=set)  # task ids whose output has not ended


class LogBroker(SessionOutbox[dispatcher_pb2.LogSubscription]):
    def __init__(self) -> None:
        super().__init__()
        self.channels = ExecChannels()
        self._subs: dict[str, Subscription] = {}

    def subscribe(self, by_node: dict[str, list[str]], *, follow: bool, tail: int) -> Subscription:
        sub = Subscription(secrets.token_hex(6), asyncio.Queue(maxsize=1024))
        self._subs[sub.id] = sub
        for node, task_ids in by_node.items():
            sub.pending.update(task_ids)
            self.send(node, dispatcher_pb2.LogSubscription(
                id=sub.id, task_ids=task_ids, follow=follow, tail=tail))
        return sub

    def close(self, sub: Subscription) -> None:
        self._subs.pop(sub.id, None)

    async def publish(self, msg: dispatcher_pb2.PublishLogsMessage) -> bool:
        """Hand one message to its subscriber; False when nobody listens any more."""
        sub = self._subs.get(msg.subscription_id)
        if sub is None or msg.task_id not in sub.pending:
            return False
        await sub.queue.put(msg)
        return True


class LogBrokerService(dispatcher_pb2_grpc.LogBrokerServicer):
    def __init__(self, broker: LogBroker, mirror: Mirror) -> None:
        self._broker = broker
        self._mirror = mirror

    async def PublishLogs(
        self,
        request_iterator: AsyncIterator[dispatcher_pb2.PublishLogsMessage],
        context: grpc.aio.ServicerContext,
    ) -> dispatcher_pb2.PublishLogsResponse:
        """Forward a node's container output to the Logs call that asked for it; returning
        early (nobody listens any more) tells the agent to stop reading."""
        async for msg in request_iterator:
            task = self._mirror.view.tasks.get(msg.task_id)
            if task is not None and task.node != msg.node:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                    f"task {msg.task_id} does not run on node {msg.node}")
            if not await self._broker.publish(msg):
                break
        return dispatcher_pb2.PublishLogsResponse()

    async def ExecStream(
        self,
        request_iterator: AsyncIterator[dispatcher_pb2.ExecFromNode],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[dispatcher_pb2.ExecToNode]:
        """Relay an exec between the node and the `dockyard exec` waiting for it."""
        upward = aiter(request_iterator)
        try:
            first = await anext(upward)
        except StopAsyncIteration:
            return
        async for down in node_stream(first, upward, self._broker.channels, context):
            yield down
