"""The agent's own Prometheus metrics, served on its HTTP port (`agent --http-listen`).

Each agent counts what happens on its host: container starts, the failures of its
runtime steps (create with its pull, start, stop, remove, restart), and how long image
pulls and builds take. The control plane cannot see these from etcd, so each agent
serves them itself, with prometheus-client's exposition, on loopback unless told
otherwise (docs/operations.md).
A port already taken (two agents on one machine) costs the metrics, never the agent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

if TYPE_CHECKING:
    from aiohttp import web

_SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

CONTAINER_STARTS = Counter("dockyard_agent_container_starts_total",
                           "Containers this agent started (first starts and restarts)")
CONTAINER_FAILURES = Counter(
    "dockyard_agent_container_failures_total",
    "Runtime steps that failed on this agent, by step (create, with its pull; start, stop, "
    "remove, restart)",
    ["step"])
PULL_SECONDS = Histogram("dockyard_agent_image_pull_seconds",
                         "Time to pull an image this host did not have", buckets=_SLOW)
BUILD_SECONDS = Histogram("dockyard_agent_image_build_seconds",
                          "Time to build an image on this host", buckets=_SLOW)

log = logging.getLogger(__name__)


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the block's duration in `histogram` when it ends without an error."""
    started = time.perf_counter()
    yield
    histogram.observe(time.perf_counter() - started)


async def serve_metrics(address: str) -> web.AppRunner | None:
    """Serve /metrics (and /healthz) on HOST:PORT; the runner to clean up, or None when
    the port cannot be had (logged once; the agent runs on without its metrics)."""
    if not address:
        return None
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=1024)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, _, port = address.rpartition(":")
    try:
        await web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port)).start()
    except (OSError, ValueError) as exc:
        log.warning("agent metrics not served: cannot listen on %s: %s", address,
                    getattr(exc, "strerror", None) or exc)
        await runner.cleanup()
        return None
    log.info("agent metrics on http://%s/metrics", address)
    return runner
