"""Container output for a log subscription: engine -> PublishLogs stream.

Each subscribed task's container is read in a worker thread (the engine's log stream
blocks); chunks cross into the event loop through a queue and go out on one
PublishLogs call. When the control plane ends that call (nobody listens any more), the
engine streams are closed, which ends the threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from dockyard.agent.runtime.driver import Driver
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger("dockyard.agent.logs")

_CHUNK = 16 * 1024


async def publish_logs(
    *,
    stub: dispatcher_pb2_grpc.LogBrokerStub,
    node: str,
    sub: dispatcher_pb2.LogSubscription,
    driver: Driver,
    container_of: Callable[[str], str | None],
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dispatcher_pb2.PublishLogsMessage] = asyncio.Queue(maxsize=256)
    streams: list[Any] = []

    def message(task_id: str, **kw: Any) -> dispatcher_pb2.PublishLogsMessage:
        return dispatcher_pb2.PublishLogsMessage(
            node=node, subscription_id=sub.id, task_id=task_id, **kw)

    def pump(task_id: str, container_id: str) -> None:
        """Runs in a thread: copy one container's output into the queue."""
        def put(m: dispatcher_pb2.PublishLogsMessage) -> None:
            asyncio.run_coroutine_threadsafe(queue.put(m), loop).result()

        try:
            stream = driver.logs(container_id, follow=sub.follow, tail=sub.tail)
            streams.append(stream)
            for chunk in stream:
                for i in range(0, len(chunk), _CHUNK):
                    put(message(task_id, data=bytes(chunk[i:i + _CHUNK])))
            put(message(task_id, done=True))
        except Exception as exc:  # a vanished container, a closed stream: report, end
            put(message(task_id, done=True, error=f"cannot read output: {exc}"))

    async def outgoing() -> AsyncIterator[dispatcher_pb2.PublishLogsMessage]:
        left = set(sub.task_ids)
        for tid in sub.task_ids:
            cid = container_of(tid)
            if cid is None:
                left.discard(tid)
                yield message(tid, done=True, error="no container for this task on " + node)
            else:
                loop.run_in_executor(None, pump, tid, cid)
        while left:
            m = await queue.get()
            if m.done:
                left.discard(m.task_id)
            yield m

    try:
        await stub.PublishLogs(outgoing())
    except Exception as exc:  # the control plane hung up: that is how a follow ends
        log.debug("log subscription %s ended: %s", sub.id, exc)
    finally:
        for s in streams:
            try:
                s.close()
            except Exception:  # already closed
                pass
