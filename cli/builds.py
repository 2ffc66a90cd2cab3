"""`dockyard apply`'s builds: every `build:` service's image, built and pushed before the
app is applied, with progress per service on stderr.

Why apart from the commands: this is the order of things (ask the cluster for its
registry, pack every context first so that every bad one is reported before anything is
built, skip an unchanged context, then build where an engine is) and the words the user
sees; the building itself is `client/builder.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import grpc

from dockyard.client import builder
from dockyard.client.build_context import Context, pack_context
from dockyard.client.control import CliError, call
from dockyard.v1 import control_pb2, specs_pb2


def _report(service: str, line: str) -> None:
    print(f"build {service}: {line}", file=sys.stderr, flush=True)


def _stored_services(stub: Any, server: str, app: str) -> dict[str, specs_pb2.ServiceSpec]:
    try:
        stored = stub.GetApp(control_pb2.GetAppRequest(name=app), timeout=30)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return {}
        from dockyard.client.control import describe_rpc_error

        raise CliError(describe_rpc_error(exc, server)) from None
    return {s.name: s for s in stored.spec.services}


def _unchanged(previous: specs_pb2.ServiceSpec | None, ctx: Context, repo: str,
               platform: str) -> bool:
    """Whether the stored service was built from this very context into this repository,
    for this platform when one is named. Pure."""
    return (previous is not None and previous.HasField("build")
            and previous.build.context_hash == ctx.hash
            and previous.image.startswith(f"{repo}@sha256:")
            and (not platform or platform == previous.platform))


def build_images(spec: specs_pb2.AppSpec, *, base: Path, stub: Any, server: str,
                 dry_run: bool = False) -> list[builder.Built]:
    """Build and push every `build:` service of ``spec`` (or, with ``dry_run``, say which
    would be built) and set each one's ``image`` to the pushed image by digest. Raises
    ``CliError`` with one line on the first failure; nothing is applied then."""
    services = [s for s in spec.services if s.HasField("build")]
    if not services:
        return []
    registry = call(server, stub.ClusterInfo, control_pb2.ClusterInfoRequest()).registry
    if not registry:
        raise CliError(f"service {services[0].name} has build: the cluster has no registry "
                       "to push its image to; start the server with --registry HOST:PORT")
    contexts = [pack_context(base, s.name, s.build) for s in services]
    previous = _stored_services(stub, server, spec.name)
    engine: Any = None
    engine_known = False
    results = []
    for svc, ctx in zip(services, contexts, strict=True):
        tag = builder.push_tag(registry, spec.name, svc.name, svc.image, ctx.hash)
        repo = tag.rpartition(":")[0]
        svc.build.context_hash = ctx.hash
        old = previous.get(svc.name)
        if _unchanged(old, ctx, repo, svc.platform):
            assert old is not None
            svc.image = old.image
            svc.platform = svc.platform or old.platform  # what the image was built for
            _report(svc.name, "unchanged context, not built")
            results.append(builder.Built(svc.name, old.image, "unchanged", ""))
            continue
        if dry_run:
            svc.image = tag
            _report(svc.name, f"would build {ctx.files} files into {tag}")
            results.append(builder.Built(svc.name, tag, "would build", ""))
            continue
        if not engine_known:
            engine, engine_known = builder.local_engine(), True
        started = time.monotonic()
        _report(svc.name, f"{ctx.files} files, {len(ctx.tar) // 1024} KiB, into {tag}")
        if engine is not None:
            where = "local engine"
            _report(svc.name, "building with the local Docker Engine")
            digest = builder.build_locally(engine, ctx, svc.build, tag, _report)
        else:
            done = builder.build_on_cluster(stub, server, ctx, svc.build, tag, _report,
                                            svc.platform)
            digest, where = done.digest, f"node {done.node}"
            svc.platform = svc.platform or done.platform
        svc.image = builder.by_digest(tag, digest)
        _report(svc.name, f"pushed {svc.image} ({time.monotonic() - started:.1f} s)")
        results.append(builder.Built(svc.name, svc.image, "built", where))
    return results
