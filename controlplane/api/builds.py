"""Builds on a cluster node: context CLI -> control plane -> agent, output back.

Why: `dockyard apply` builds a service's image on the user's machine when a Docker
Engine is reachable there; when none is, a cluster node's engine builds it. Agents dial
the control plane, never the reverse, so a build is handled as `dockyard logs` is: the
CLI's Build call uploads the context (a tar stream) and waits; the build becomes an
order that rides the chosen node's session stream; the agent fetches the context with
FetchContext, builds and pushes with its engine, and streams the output back with
PublishBuild, which this module hands to the waiting Build call.

The context is held in this replica's memory for the build's duration, capped at
``MAX_CONTEXT_BYTES`` (docs/limits.md). That each call's node is the caller's own is
checked by the role interceptor (controlplane/api/roles.py); that the build was sent to
that node is checked here.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc

from dockyard.controlplane.api.outbox import SessionOutbox
from dockyard.controlplane.view import ClusterView
from dockyard.scheduler.rules import platform_problem
from dockyard.v1 import control_pb2, dispatcher_pb2, dispatcher_pb2_grpc, objects_pb2, specs_pb2

MIB = 1024 * 1024
# Largest build context the control plane relays to a node.
MAX_CONTEXT_BYTES = 256 * MIB
# A build that sends nothing for this long is given up.
BUILD_SILENCE_S = 600.0
_CHUNK = 1 * MIB


@dataclass
class BuildJob:
    id: str
    node: str
    service: str
    context: bytes
    output: asyncio.Queue[dispatcher_pb2.PublishBuildMessage] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1024))


class BuildBroker(SessionOutbox[dispatcher_pb2.BuildOrder]):
    """Builds waiting to be sent on a node's session, and those running."""

    def __init__(self) -> None:
        super().__init__()
        self._jobs: dict[str, BuildJob] = {}

    def start(self, node: str, service: str, spec: specs_pb2.BuildSpec, tag: str,
              context: bytes) -> BuildJob:
        job = BuildJob(secrets.token_hex(8), node, service, context)
        self._jobs[job.id] = job
        self.send(node, dispatcher_pb2.BuildOrder(id=job.id, spec=spec, tag=tag))
        return job

    def job(self, build_id: str) -> BuildJob | None:
        return self._jobs.get(build_id)

    def close(self, job: BuildJob) -> None:
        self._jobs.pop(job.id, None)


@dataclass(frozen=True)
class BuilderChoice:
    """Where a build runs: ``node``, or None with ``problem`` (one line). ``platform`` is
    set when the service named none but the ready nodes differ in architecture: the
    image is built for the architecture most of them have, and the service must then
    run only there."""

    node: str | None
    platform: str = ""
    problem: str = ""


def _wanted_architecture(platform: str) -> str:
    return platform.partition("/")[2].partition("/")[0]


def choose_builder(view: ClusterView, reachable: Callable[[str], bool],
                   platform: str = "") -> BuilderChoice:
    """The node to build on: a ready, active node whose session this replica holds and
    whose engine's architecture is the service's ``platform`` ("linux/arm64"), the one
    with the fewest tasks (then by name). A node that did not say its architecture is
    taken only when no node says it matches. Without ``platform``, on nodes of several
    architectures, the one most of them have (then by name) is built for. Pure."""
    counts: dict[str, int] = defaultdict(int)
    for task in view.tasks.values():
        if task.node:
            counts[task.node] += 1
    ready = [n for n in view.nodes.values()
             if n.state == objects_pb2.NODE_READY and n.availability == objects_pb2.ACTIVE
             and reachable(n.meta.id)]
    if not ready:
        return BuilderChoice(None, problem="no node can build: no ready node holds a "
                                           "session with this server")
    arch = {n.meta.id: n.description.architecture for n in ready}
    pinned = ""
    if platform:
        problems = {name: platform_problem(platform, a) for name, a in arch.items()}
        fits = [name for name, problem in problems.items() if problem is None]
        if not fits:
            nodes = ", ".join(f"{name} ({problem})" for name, problem in sorted(problems.items()))
            return BuilderChoice(None, problem=f"no node can build for platform {platform}: "
                                               f"ready nodes: {nodes}")
        known = [name for name in fits if arch[name]]
        fits = known or fits
    else:
        kinds: dict[str, int] = defaultdict(int)
        for a in arch.values():
            if a:
                kinds[a] += 1
        fits = list(arch)
        if len(kinds) > 1:
            most = min(kinds, key=lambda a: (-kinds[a], a))
            fits = [name for name in arch if arch[name] == most]
            pinned = f"linux/{most}"
    return BuilderChoice(min(fits, key=lambda name: (counts[name], name)), platform=pinned)


async def relay_build(
    broker: BuildBroker,
    view: Callable[[], ClusterView],
    uploads: AsyncIterator[control_pb2.BuildUpload],
    context: grpc.aio.ServicerContext,
) -> AsyncIterator[control_pb2.BuildOutput]:
    """Control.Build: read the context, send the build to a node, relay its output."""
    first: control_pb2.BuildUpload | None = None
    parts: list[bytes] = []
    size = 0
    async for upload in uploads:
        if first is None:
            first = upload
        size += len(upload.context)
        if size > MAX_CONTEXT_BYTES:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"service {first.service}: the build context is over "
                f"{MAX_CONTEXT_BYTES // MIB} MiB; add a .dockerignore or build with a "
                "local Docker Engine")
        parts.append(upload.context)
    if first is None or not first.tag:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a build needs a tag")
        return
    choice = choose_builder(view(), broker.reachable, first.platform)
    node = choice.node
    if node is None:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                            f"service {first.service}: {choice.problem}")
        return
    job = broker.start(node, first.service, first.spec, first.tag, b"".join(parts))
    try:
        yield control_pb2.BuildOutput(node=node, platform=choice.platform)
        while True:
            try:
                msg = await asyncio.wait_for(job.output.get(), timeout=BUILD_SILENCE_S)
            except TimeoutError:
                yield control_pb2.BuildOutput(
                    error=f"node {node} sent nothing for {BUILD_SILENCE_S:.0f} s; gave up")
                return
            yield control_pb2.BuildOutput(line=msg.line, error=msg.error, digest=msg.digest)
            if msg.error or msg.digest:
                return
    finally:
        broker.close(job)


class BuildsService(dispatcher_pb2_grpc.BuildsServicer):
    """The agents' side of a build: fetch the context, publish the output."""

    def __init__(self, broker: BuildBroker) -> None:
        self._broker = broker

    async def _job(self, build_id: str, node: str,
                   context: grpc.aio.ServicerContext) -> BuildJob:
        job = self._broker.job(build_id)
        if job is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no build {build_id} here")
            raise AssertionError("unreachable")
        if job.node != node:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"build {build_id} was not sent to node {node}")
        return job

    async def FetchContext(
        self, request: dispatcher_pb2.FetchContextRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[dispatcher_pb2.ContextChunk]:
        job = await self._job(request.build_id, request.node, context)
        for i in range(0, len(job.context), _CHUNK):
            yield dispatcher_pb2.ContextChunk(data=job.context[i:i + _CHUNK])

    async def PublishBuild(
        self,
        request_iterator: AsyncIterator[dispatcher_pb2.PublishBuildMessage],
        context: grpc.aio.ServicerContext,
    ) -> dispatcher_pb2.PublishBuildResponse:
        async for msg in request_iterator:
            job = await self._job(msg.build_id, msg.node, context)
            await job.output.put(msg)
            if msg.error or msg.digest:
                break
        return dispatcher_pb2.PublishBuildResponse()
