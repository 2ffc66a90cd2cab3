"""`dockyard exec` on the node: a command in a task's container, wired to an ExecStream.

The control plane sends the request on the node's session (a log subscription with
`exec` set); the node answers by opening ExecStream, whose first message pairs the call
with the waiting `dockyard exec`. Output is read in a thread of its own (it blocks for
as long as the command runs, so it must not hold one of the event loop's shared
workers) and crosses into the loop through a bounded queue; input and terminal sizes
come down the same call. The last message upward carries the exit code.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from dockyard.agent.runtime.driver import Driver, DriverError, ExecSession, ExecSpec
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger("dockyard.agent.exec")

_CHUNK = 32 * 1024


def spec_of(req: dispatcher_pb2.ExecRequest) -> ExecSpec:
    """The runtime's view of an exec request. Pure."""
    return ExecSpec(argv=tuple(req.argv), tty=req.tty, stdin=req.stdin, rows=req.rows,
                    cols=req.cols, env=tuple(req.env), user=req.user, workdir=req.workdir)


async def run_exec(
    *,
    stub: dispatcher_pb2_grpc.LogBrokerStub,
    node: str,
    sub: dispatcher_pb2.LogSubscription,
    driver: Driver,
    container_of: Callable[[str], str | None],
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dispatcher_pb2.ExecFromNode] = asyncio.Queue(maxsize=64)

    def message(**kw: Any) -> dispatcher_pb2.ExecFromNode:
        return dispatcher_pb2.ExecFromNode(node=node, subscription_id=sub.id, **kw)

    session: ExecSession | None = None
    error = ""
    cid = container_of(sub.exec.task_id)
    if cid is None:
        error = f"no container for task {sub.exec.task_id} on {node}"
    else:
        try:
            session = await loop.run_in_executor(None, driver.open_exec, cid, spec_of(sub.exec))
        except DriverError as exc:
            error = str(exc)

    def pump(s: ExecSession) -> None:
        """Runs in its own thread: the command's output, then its exit code."""
        def put(m: dispatcher_pb2.ExecFromNode) -> None:
            asyncio.run_coroutine_threadsafe(queue.put(m), loop).result()

        try:
            for stream, data in s.output():
                for i in range(0, len(data), _CHUNK):
                    put(message(data=data[i:i + _CHUNK], stream=stream))
            put(message(exited=True, exit_code=s.exit_code()))
        except Exception as exc:  # the engine went away mid-command: report, end
            try:
                put(message(exited=True, exit_code=-1, error=f"exec ended: {exc}"))
            except Exception:  # the loop is gone too
                pass

    async def upward() -> AsyncIterator[dispatcher_pb2.ExecFromNode]:
        yield message()  # pairs this call with the waiting `dockyard exec`
        if session is None:
            yield message(exited=True, exit_code=-1, error=error)
            return
        threading.Thread(target=pump, args=(session,), name=f"exec-{sub.id}",
                         daemon=True).start()
        while True:
            m = await queue.get()
            yield m
            if m.exited:
                return

    try:
        call = stub.ExecStream(upward())
        async for down in call:
            if session is None:
                continue
            if down.data:
                await loop.run_in_executor(None, session.write, down.data)
            if down.rows and down.cols:
                await loop.run_in_executor(None, session.resize, down.rows, down.cols)
            if down.eof:
                await loop.run_in_executor(None, session.close_input)
    except Exception as exc:  # the caller or the control plane hung up
        log.debug("exec %s ended: %s", sub.id, exc)
    finally:
        if session is not None:
            session.close()
