"""What the nodes' engines cannot do of an app, said once at apply time.

Why: `healthcheck.start_interval` needs Engine API 1.44 (Docker 25), and a volume's
`subpath` API 1.45 (Docker 26); an older engine ignores them (the agent refuses to mount
a whole volume for a subpath, so such a task fails there). The agent logs that on its
node, but the user reads the apply's output, so the CLI compares the app with the engine
versions the nodes reported and warns there, one line per key. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dockyard.v1 import objects_pb2, specs_pb2

# Docker Engine 25.0 speaks API 1.44, the first to read Healthcheck.StartInterval.
START_INTERVAL_ENGINE = (25, 0)
# Docker Engine 26.0 speaks API 1.45, the first to read a volume mount's Subpath.
SUBPATH_ENGINE = (26, 0)


def engine_release(version: str) -> tuple[int, int] | None:
    """"20.10.24+dfsg1" -> (20, 10); None when it does not read as one. Pure."""
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1].split("+")[0].split("-")[0])
    except (IndexError, ValueError):
        return None


def uses_start_interval(s: specs_pb2.ServiceSpec) -> bool:
    return (s.HasField("healthcheck") and bool(s.healthcheck.start_interval_ms)
            and not s.healthcheck.disable)


def uses_subpath(s: specs_pb2.ServiceSpec) -> bool:
    return any(v.volume_subpath for v in s.volumes)


# key, which services use it, the first engine release that applies it (its API), and
# what happens on an older one.
_NEEDS: list[tuple[str, Callable[[specs_pb2.ServiceSpec], bool], tuple[int, int], str, str]] = [
    ("healthcheck.start_interval", uses_start_interval, START_INTERVAL_ENGINE, "1.44",
     "is not applied on {names}: their Docker Engine ({versions}) is older than 25.0 "
     "(API 1.44); the engine's default is used there"),
    ("volumes.volume.subpath", uses_subpath, SUBPATH_ENGINE, "1.45",
     "cannot be mounted on {names}: their Docker Engine ({versions}) is older than 26.0 "
     "(API 1.45); a task placed there fails instead of mounting the whole volume"),
]


def engine_warnings(spec: specs_pb2.AppSpec, nodes: Sequence[objects_pb2.Node]) -> list[str]:
    """One line per key some nodes' engines will not apply. Pure."""
    out = []
    for key, used, first, _api, consequence in _NEEDS:
        services = [s.name for s in spec.services if used(s)]
        if not services:
            continue
        old = sorted((n.meta.id, n.description.engine_version) for n in nodes
                     if (release := engine_release(n.description.engine_version)) is not None
                     and release < first)
        if not old:
            continue
        names = ", ".join(name for name, _ in old[:5]) + (f" and {len(old) - 5} more"
                                                          if len(old) > 5 else "")
        versions = ", ".join(sorted({v for _, v in old}))
        out.append(f"service {', '.join(services)}: {key} "
                   + consequence.format(names=names, versions=versions))
    return out


def needs_engine_check(spec: specs_pb2.AppSpec) -> bool:
    """Whether any service uses a key some engines cannot apply (worth asking for the
    nodes' engine versions). Pure."""
    return any(used(s) for _k, used, *_rest in _NEEDS for s in spec.services)
