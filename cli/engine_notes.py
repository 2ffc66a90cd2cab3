"""What the nodes' engines cannot do of an app, said once at apply time.

Why: a key such as `healthcheck.start_interval` needs Engine API 1.44 (Docker 25); an
older engine ignores it. The agent logs that on its node, but the user reads the apply's
output, so the CLI compares the app with the engine versions the nodes reported and
warns there, one line per key. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.v1 import objects_pb2, specs_pb2

# Docker Engine 25.0 speaks API 1.44, the first to read Healthcheck.StartInterval.
START_INTERVAL_ENGINE = (25, 0)


def engine_release(version: str) -> tuple[int, int] | None:
    """"20.10.24+dfsg1" -> (20, 10); None when it does not read as one. Pure."""
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1].split("+")[0].split("-")[0])
    except (IndexError, ValueError):
        return None


def engine_warnings(spec: specs_pb2.AppSpec, nodes: Sequence[objects_pb2.Node]) -> list[str]:
    """One line per key some nodes' engines will not apply. Pure."""
    services = [s.name for s in spec.services
                if s.HasField("healthcheck") and s.healthcheck.start_interval_ms
                and not s.healthcheck.disable]
    if not services:
        return []
    old = sorted((n.meta.id, n.description.engine_version) for n in nodes
                 if (release := engine_release(n.description.engine_version)) is not None
                 and release < START_INTERVAL_ENGINE)
    if not old:
        return []
    names = ", ".join(name for name, _ in old[:5]) + (f" and {len(old) - 5} more"
                                                      if len(old) > 5 else "")
    versions = ", ".join(sorted({v for _, v in old}))
    return [f"service {', '.join(services)}: healthcheck.start_interval is not applied on "
            f"{names}: their Docker Engine ({versions}) is older than 25.0 (API 1.44); the "
            "engine's default is used there"]
