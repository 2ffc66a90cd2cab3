"""A build order from the control plane: fetch the context, build and push with this
node's engine, stream the output back.

Why here: when the user's machine has no Docker Engine, `dockyard apply` has a node
build the image (controlplane/api/builds.py). The order rides the session stream; the
context comes with FetchContext, and the output, then the digest or the one-line error,
goes back on one PublishBuild call. The engine's build blocks, so it runs in a worker
thread and its lines cross into the event loop through a queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from dockyard.agent.metrics import BUILD_SECONDS, timed
from dockyard.agent.runtime.driver import Driver, DriverError
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger("dockyard.agent.builds")


async def run_build(*, stub: dispatcher_pb2_grpc.BuildsStub, node: str,
                    order: dispatcher_pb2.BuildOrder, driver: Driver) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dispatcher_pb2.PublishBuildMessage] = asyncio.Queue(maxsize=1024)

    def message(**kw: str) -> dispatcher_pb2.PublishBuildMessage:
        return dispatcher_pb2.PublishBuildMessage(node=node, build_id=order.id, **kw)

    def put(m: dispatcher_pb2.PublishBuildMessage) -> None:
        """From the build's thread: hand one message to the event loop."""
        asyncio.run_coroutine_threadsafe(queue.put(m), loop).result()

    def build(context: bytes) -> None:
        try:
            with timed(BUILD_SECONDS):
                digest = driver.build(context, order.spec, order.tag,
                                      lambda line: put(message(line=line)))
            put(message(digest=digest))
        except DriverError as exc:
            put(message(error=str(exc)))
        except Exception as exc:  # never leave the caller waiting
            put(message(error=f"build failed on node {node}: {exc}"))

    async def outgoing() -> AsyncIterator[dispatcher_pb2.PublishBuildMessage]:
        parts = []
        try:
            request = dispatcher_pb2.FetchContextRequest(node=node, build_id=order.id)
            async for chunk in stub.FetchContext(request, timeout=600):
                parts.append(chunk.data)
        except Exception as exc:
            yield message(error=f"node {node} could not fetch the build context: {exc}")
            return
        loop.run_in_executor(None, build, b"".join(parts))
        while True:
            m = await queue.get()
            yield m
            if m.error or m.digest:
                return

    try:
        await stub.PublishBuild(outgoing(), timeout=3600)
    except Exception as exc:  # the control plane hung up: the CLI gave up
        log.warning("build %s ended: %s", order.id, exc)
