"""`dockyard exec`: a command in a task's container, relayed through the node's session.

Agents dial the control plane, never the reverse, so an exec travels as logs do: the
Control API's Exec call picks the task, sends the request on the node's session (a log
subscription with `exec` set), and waits (bounded) for the node to open ExecStream.
From then on this replica is a relay: the caller's input and terminal sizes go down to
the node, the command's output and exit code come up. Both directions are bounded
queues, so a slow reader slows the writer instead of growing memory.

Only nodes whose sessions this replica holds are reachable; for any other node the call
ends with ABORTED, which the CLI takes as "try the next server".
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from dockyard.v1 import control_pb2, dispatcher_pb2, objects_pb2

ATTACH_TIMEOUT_S = 10.0
_QUEUE = 64


@dataclass
class ExecChannel:
    """One exec between its Control call and the node's ExecStream."""

    id: str
    node: str
    task_id: str
    up: asyncio.Queue[dispatcher_pb2.ExecFromNode] = field(
        default_factory=lambda: asyncio.Queue(maxsize=_QUEUE))
    down: asyncio.Queue[dispatcher_pb2.ExecToNode | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=_QUEUE))
    attached: asyncio.Event = field(default_factory=asyncio.Event)


class ExecChannels:
    """The execs open on this replica, by id."""

    def __init__(self) -> None:
        self._open: dict[str, ExecChannel] = {}

    def open(self, node: str, task_id: str) -> ExecChannel:
        ch = ExecChannel(secrets.token_hex(8), node, task_id)
        self._open[ch.id] = ch
        return ch

    def claim(self, channel_id: str, node: str) -> ExecChannel | None:
        """The waiting exec a node's ExecStream answers; None when there is none for it."""
        ch = self._open.get(channel_id)
        if ch is None or ch.node != node or ch.attached.is_set():
            return None
        ch.attached.set()
        return ch

    def close(self, ch: ExecChannel) -> None:
        self._open.pop(ch.id, None)
        with contextlib.suppress(asyncio.QueueFull):
            ch.down.put_nowait(None)


def pick_task(tasks: Sequence[objects_pb2.Task], service: str,
              slot: int) -> objects_pb2.Task | None:
    """The task an exec runs in: the given slot's, or the lowest running slot's. Pure."""
    running = [t for t in tasks if t.service == service and t.node and t.status.container_id
               and t.status.state == objects_pb2.RUNNING and (not slot or t.slot == slot)]
    return min(running, key=lambda t: (t.slot, t.meta.id), default=None)


def request_for(task: objects_pb2.Task, start: control_pb2.ExecStart
                ) -> dispatcher_pb2.ExecRequest:
    """What the node is asked to run. Pure."""
    return dispatcher_pb2.ExecRequest(
        task_id=task.meta.id, argv=start.argv, tty=start.tty, stdin=start.stdin,
        rows=start.rows, cols=start.cols, env=start.env, user=start.user,
        workdir=start.workdir)


async def relay_input(inputs: AsyncIterator[control_pb2.ExecInput], ch: ExecChannel) -> None:
    """The caller's input, end of input and terminal sizes, down to the node. A caller
    that hangs up or sends what is not an ExecInput just ends the input."""
    try:
        async for m in inputs:
            if m.HasField("start"):
                continue  # only the first message starts; a repeat changes nothing
            await ch.down.put(dispatcher_pb2.ExecToNode(data=m.data, eof=m.eof,
                                                        rows=m.rows, cols=m.cols))
    except Exception:  # a broken input stream ends the input, not the exec
        return


async def node_stream(
    first: dispatcher_pb2.ExecFromNode,
    upward: AsyncIterator[dispatcher_pb2.ExecFromNode],
    channels: ExecChannels,
    context: grpc.aio.ServicerContext,
) -> AsyncIterator[dispatcher_pb2.ExecToNode]:
    """The node's side (LogBroker.ExecStream): its messages up, the caller's down."""
    ch = channels.claim(first.subscription_id, first.node)
    if ch is None:
        await context.abort(grpc.StatusCode.NOT_FOUND,
                            f"no exec {first.subscription_id!r} waits for node {first.node}")
        return

    async def pump_up() -> None:
        ended = False
        try:
            async for m in upward:
                await ch.up.put(m)
                if m.exited:
                    ended = True
                    break
        finally:
            if not ended:
                with contextlib.suppress(asyncio.QueueFull):
                    ch.up.put_nowait(dispatcher_pb2.ExecFromNode(
                        exited=True, exit_code=-1, error=f"node {ch.node} hung up"))
            with contextlib.suppress(asyncio.QueueFull):
                ch.down.put_nowait(None)

    pump = asyncio.create_task(pump_up())
    try:
        while (down := await ch.down.get()) is not None:
            yield down
    finally:
        pump.cancel()


async def caller_stream(
    inputs: AsyncIterator[control_pb2.ExecInput],
    context: grpc.aio.ServicerContext,
    *,
    tasks: Sequence[objects_pb2.Task],
    start: control_pb2.ExecStart,
    broker: ExecBroker,
) -> AsyncIterator[control_pb2.ExecOutput]:
    """The caller's side (Control.Exec), once the request is valid and `tasks` are the
    app's: pick the task, ask its node, then relay until the command ends."""
    where = f"{start.app}/{start.service}" + (f"/{start.slot}" if start.slot else "")
    task = pick_task(tasks, start.service, start.slot)
    if task is None:
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no running task of {where}")
        return
    if not broker.reachable(task.node):
        await context.abort(grpc.StatusCode.ABORTED,
                            f"node {task.node} has no session with this control-plane replica")
        return
    ch = broker.channels.open(task.node, task.meta.id)
    relay: asyncio.Task[None] | None = None
    try:
        broker.send(task.node, dispatcher_pb2.LogSubscription(
            id=ch.id, exec=request_for(task, start)))
        try:
            await asyncio.wait_for(ch.attached.wait(), ATTACH_TIMEOUT_S)
        except TimeoutError:
            await context.abort(grpc.StatusCode.UNAVAILABLE,
                                f"node {task.node} did not answer the exec within "
                                f"{ATTACH_TIMEOUT_S:.0f} s")
            return
        yield control_pb2.ExecOutput(task_id=task.meta.id, node=task.node, slot=task.slot)
        relay = asyncio.create_task(relay_input(inputs, ch))
        while True:
            m = await ch.up.get()
            if m.error:
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                    f"{task.service}.{task.slot} on {task.node}: {m.error}")
                return
            if m.data:
                yield control_pb2.ExecOutput(data=m.data, stream=m.stream)
            if m.exited:
                yield control_pb2.ExecOutput(exited=True, exit_code=m.exit_code)
                return
    finally:
        if relay is not None:
            relay.cancel()
        broker.channels.close(ch)


class ExecBroker(Protocol):
    """What exec needs from the log broker: the nodes whose sessions are here, a way to
    send a request on one, and the open channels."""

    channels: ExecChannels

    def reachable(self, node: str) -> bool: ...
    def send(self, node: str, sub: dispatcher_pb2.LogSubscription) -> None: ...
