"""Building the images of a Compose app's `build:` services and pushing them to the
cluster's registry, so that the app is deployed by digest.

Why: a team's Compose file builds its own images; on a cluster every node must pull the
same image, so the image goes to the cluster's registry (`dockyard server --registry`)
and each service names it by digest, which no later push can change.

Where an image is built:
- on this machine, when a Docker Engine answers here (``DOCKER_HOST`` or its socket);
- otherwise on a cluster node: the context goes to the control plane as a tar stream
  (Control.Build), a node's engine builds and pushes it, its output comes back.

A context whose hash (``build_context.context_hash``) equals the one the stored app was
built from is not built again: the stored digest is used. Every failure is one line
naming the service, raised before anything is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from dockyard.client.build_context import Context
from dockyard.client.errors import CliError
from dockyard.common.buildlog import BuildFailed, build_and_push
from dockyard.v1 import control_pb2, specs_pb2

Report = Callable[[str, str], None]  # (service, line)
_UPLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Built:
    """One service's image: where it was built (or that it was not), and its reference."""

    service: str
    image: str  # REGISTRY/REPOSITORY@sha256:...
    action: str  # "built" or "unchanged"
    where: str  # "local engine", "node h1", or "" when unchanged


def repository(app: str, service: str, image: str) -> str:
    """The repository in the cluster's registry: the service's ``image`` without its
    registry and tag when it names one, else ``APP/SERVICE``. Pure."""
    if not image:
        return f"{app}/{service}".lower()
    name = image.split("@", 1)[0]
    head, _, rest = name.partition("/")
    if rest and ("." in head or ":" in head or head == "localhost"):
        name = rest
    last_colon = name.rfind(":")
    if last_colon > name.rfind("/"):
        name = name[:last_colon]
    return name


def push_tag(registry: str, app: str, service: str, image: str, context_hash: str) -> str:
    """REGISTRY/REPOSITORY:TAG to push; the tag is the context hash's first 12 digits,
    so two different contexts never share a tag. Pure."""
    return f"{registry}/{repository(app, service, image)}:{context_hash[:12]}"


def by_digest(tag: str, digest: str) -> str:
    """REGISTRY/REPOSITORY:TAG and sha256:... -> REGISTRY/REPOSITORY@sha256:... Pure."""
    name = tag
    last_colon = tag.rfind(":")
    if last_colon > tag.rfind("/"):
        name = tag[:last_colon]
    return f"{name}@{digest}"


def local_engine() -> Any | None:
    """A docker SDK client for the engine on this machine, or None when none answers."""
    try:
        import docker

        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except Exception:  # no socket, refused, no permission: build on the cluster instead
        return None


def build_locally(client: Any, ctx: Context, build: specs_pb2.BuildSpec, tag: str,
                  report: Report) -> str:
    """Build ``ctx`` on the local engine, push it to ``tag``; returns the digest."""
    try:
        return build_and_push(client.api, tar=ctx.tar, dockerfile=ctx.dockerfile,
                              args=build.args, target=build.target, tag=tag,
                              on_line=lambda line: report(ctx.service, line))
    except BuildFailed as exc:
        raise CliError(f"service {ctx.service}: {exc}") from None


def _uploads(ctx: Context, build: specs_pb2.BuildSpec, tag: str,
             platform: str) -> Iterator[control_pb2.BuildUpload]:
    spec = specs_pb2.BuildSpec()
    spec.CopyFrom(build)
    spec.dockerfile = ctx.dockerfile
    yield control_pb2.BuildUpload(service=ctx.service, spec=spec, tag=tag, platform=platform)
    for i in range(0, len(ctx.tar), _UPLOAD_CHUNK):
        yield control_pb2.BuildUpload(context=ctx.tar[i:i + _UPLOAD_CHUNK])


@dataclass(frozen=True)
class NodeBuild:
    """A build on a cluster node: where, the pushed digest, and the platform it was
    built for when the service named none and the nodes differ in architecture."""

    node: str
    digest: str
    platform: str = ""


def build_on_cluster(stub: Any, server: str, ctx: Context, build: specs_pb2.BuildSpec,
                     tag: str, report: Report, platform: str = "") -> NodeBuild:
    """Build on a cluster node through the control plane, on one of ``platform``'s
    architecture when it is named."""
    from dockyard.client.control import describe_rpc_error

    node = ""
    pinned = ""
    try:
        for out in stub.Build(_uploads(ctx, build, tag, platform), timeout=1800):
            if out.node:
                node = out.node
                pinned = out.platform
                report(ctx.service, f"building on node {node}")
                if pinned:
                    report(ctx.service, f"the nodes differ in architecture: built for "
                                        f"{pinned}, so its tasks run only on such nodes "
                                        "(name platform: to choose)")
            if out.line:
                report(ctx.service, out.line)
            if out.error:
                raise CliError(f"service {ctx.service}: {out.error}")
            if out.digest:
                return NodeBuild(node, out.digest, pinned)
    except grpc.RpcError as exc:
        raise CliError(describe_rpc_error(exc, server)) from None
    raise CliError(f"service {ctx.service}: the build on node {node or '?'} ended without "
                   "a result")
