"""A build on the node is timed in the agent's own metrics, and only one that worked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from dockyard.agent.builds import run_build
from dockyard.agent.metrics import BUILD_SECONDS
from dockyard.agent.runtime.driver import DriverError
from dockyard.v1 import dispatcher_pb2, specs_pb2


class Stub:
    """The two Builds rpcs the agent calls, answered in memory."""

    def __init__(self) -> None:
        self.published: list[dispatcher_pb2.PublishBuildMessage] = []

    async def FetchContext(self, request: Any, timeout: float) -> AsyncIterator[Any]:
        yield dispatcher_pb2.ContextChunk(data=b"context")

    async def PublishBuild(self, messages: AsyncIterator[Any], timeout: float) -> None:
        async for m in messages:
            self.published.append(m)


class Builder:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def build(self, context: bytes, spec: specs_pb2.BuildSpec, tag: str,
              on_line: Callable[[str], None]) -> str:
        on_line("Step 1/1 : FROM busybox")
        if self.fail:
            raise DriverError("build failed at step 1/1")
        return "sha256:" + "0" * 64


def builds_seen() -> float:
    return next(s.value for m in BUILD_SECONDS.collect() for s in m.samples
                if s.name.endswith("_count"))


def test_a_build_is_timed_and_a_failed_one_is_not() -> None:
    before = builds_seen()
    for fail in (False, True):
        stub = Stub()
        asyncio.run(run_build(stub=stub, node="h1",  # type: ignore[arg-type]
                              order=dispatcher_pb2.BuildOrder(id="b1", tag="web:1"),
                              driver=Builder(fail)))  # type: ignore[arg-type]
        last = stub.published[-1]
        assert (last.error != "") is fail
    assert builds_seen() == before + 1
