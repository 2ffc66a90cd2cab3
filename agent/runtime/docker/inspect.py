"""Docker Engine documents read into neutral terms. Pure functions: no I/O.

The engine's words (status strings, health strings, RFC 3339 timestamps with
nanoseconds, "0001-01-01" for never) stop here; the runner sees `ContainerInfo`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockyard.agent.containers import SPEC_HASH_LABEL, TASK_LABEL
from dockyard.agent.runtime.driver import ContainerInfo, ContainerState, Health

_STATES = {s.value: s for s in ContainerState}
_HEALTH = {h.value: h for h in Health if h is not Health.NONE}


def state_of(status: str) -> ContainerState:
    """The engine's `State.Status` (created, running, exited, ...) as a neutral state."""
    return _STATES.get(status, ContainerState.UNKNOWN)


def health_of(status: str) -> Health:
    return _HEALTH.get(status, Health.NONE)


def _ms(ts: str) -> int:
    if not ts or ts.startswith("0001-"):
        return 0
    head, _, frac = ts.rstrip("Z").partition(".")
    dt = datetime.fromisoformat(head + "+00:00")
    return int(dt.timestamp() * 1000) + int((frac + "000")[:3] or 0)


def info_from_inspect(attrs: dict[str, Any]) -> ContainerInfo:
    """ContainerInfo from the engine's inspect document."""
    state = attrs.get("State", {})
    health = state.get("Health") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ContainerInfo(
        id=attrs["Id"],
        task_id=labels.get(TASK_LABEL, ""),
        state=state_of(state.get("Status", "")),
        exit_code=int(state.get("ExitCode", 0)),
        started_ms=_ms(state.get("StartedAt", "")),
        finished_ms=_ms(state.get("FinishedAt", "")),
        health=health_of(health.get("Status", "")),
        failing_streak=int(health.get("FailingStreak", 0)),
        spec_hash=labels.get(SPEC_HASH_LABEL, ""),
        address=_address(attrs.get("NetworkSettings") or {}),
    )


def _address(net: dict[str, Any]) -> str:
    if net.get("IPAddress"):
        return str(net["IPAddress"])
    for n in (net.get("Networks") or {}).values():
        if n.get("IPAddress"):
            return str(n["IPAddress"])
    return ""


def split_tag(image: str) -> tuple[str, str]:
    """An image reference as (repository, tag or digest) for a pull."""
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return repo, tag
    return image, "latest"


# The kernel's machine names (what the engine's /info says) in OCI's words.
_OCI_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm",
             "i386": "386", "i686": "386"}


def oci_architecture(machine: str) -> str:
    """"x86_64" -> "amd64", "aarch64" -> "arm64"; others (ppc64le, s390x) as they are."""
    return _OCI_ARCH.get(machine, machine)


def bridge_gateway(network: dict[str, Any]) -> str:
    """The gateway of a network's IPAM config ("" when none)."""
    for cfg in (network.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Gateway"):
            return str(cfg["Gateway"])
    return ""
