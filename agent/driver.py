"""The runtime driver: Docker Engine through the docker SDK, behind a small interface.

`Driver` is what the runner needs: prepare (pull and create), start, stop, remove,
inspect, logs, and a stream of container events. `DockerDriver` implements it; every
method blocks, so the runner calls them in worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import docker
import docker.errors

from agent.containers import TASK_LABEL


class DriverError(Exception):
    """A runtime failure, in one line."""


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    id: str
    task_id: str
    status: str  # created | running | exited | paused | restarting | dead | removing
    exit_code: int
    started_ms: int
    finished_ms: int
    health: str  # "" (no healthcheck) | starting | healthy | unhealthy
    failing_streak: int
    spec_hash: str
    address: str = ""


class Driver(Protocol):
    def owned(self, node: str) -> dict[str, ContainerInfo]: ...
    def prepare(self, kwargs: dict[str, Any]) -> str: ...
    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout_s: int) -> None: ...
    def remove(self, container_id: str) -> None: ...
    def inspect(self, container_id: str) -> ContainerInfo | None: ...
    def logs(self, container_id: str, *, follow: bool, tail: int) -> Any:
        """An iterator of output chunks with `close()`, callable from another thread."""
        ...
    def events(self, stop: threading.Event, on_event: Callable[[str, str], None]) -> None: ...
    def stop_events(self) -> None: ...
    def gateway(self) -> str: ...


def _ms(ts: str) -> int:
    if not ts or ts.startswith("0001-"):
        return 0
    head, _, frac = ts.rstrip("Z").partition(".")
    dt = datetime.fromisoformat(head + "+00:00")
    return int(dt.timestamp() * 1000) + int((frac + "000")[:3] or 0)


def info_from_inspect(attrs: dict[str, Any]) -> ContainerInfo:
    """ContainerInfo from the engine's inspect document. Pure."""
    state = attrs.get("State", {})
    health = state.get("Health") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ContainerInfo(
        id=attrs["Id"],
        task_id=labels.get(TASK_LABEL, ""),
        status=state.get("Status", ""),
        exit_code=int(state.get("ExitCode", 0)),
        started_ms=_ms(state.get("StartedAt", "")),
        finished_ms=_ms(state.get("FinishedAt", "")),
        health=health.get("Status", ""),
        failing_streak=int(health.get("FailingStreak", 0)),
        spec_hash=labels.get("io.dockyard.spec-hash", ""),
        address=_address(attrs.get("NetworkSettings") or {}),
    )


def _address(net: dict[str, Any]) -> str:
    if net.get("IPAddress"):
        return str(net["IPAddress"])
    for n in (net.get("Networks") or {}).values():
        if n.get("IPAddress"):
            return str(n["IPAddress"])
    return ""


class DockerDriver:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        try:
            self._client = docker.DockerClient(base_url=base_url, timeout=120)
            self.version = str(self._client.version().get("Version", ""))
        except docker.errors.DockerException as exc:
            raise DriverError(f"Docker Engine unreachable at {base_url}: {exc}") from None
        self._api = self._client.api
        self._events_stream: Any = None

    def owned(self, node: str) -> dict[str, ContainerInfo]:
        mine = {"label": [TASK_LABEL, f"io.dockyard.node={node}"]}
        found = self._api.containers(all=True, filters=mine)
        out = {}
        for c in found:
            info = self.inspect(c["Id"])
            if info is not None and info.task_id:
                out[info.task_id] = info
        return out

    def _ensure_image(self, image: str) -> None:
        try:
            self._api.inspect_image(image)
            return
        except docker.errors.ImageNotFound:
            pass
        repo, tag = _split_tag(image)
        try:
            self._api.pull(repo, tag=tag)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot pull {image}: {exc.explanation or exc}") from None

    def prepare(self, kwargs: dict[str, Any]) -> str:
        self._ensure_image(kwargs["image"])
        try:
            existing = self._api.containers(all=True, filters={"name": f"^/{kwargs['name']}$"})
            if existing:
                return str(existing[0]["Id"])
            container = self._client.containers.create(**kwargs)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot create container: {exc.explanation or exc}") from None
        return str(container.id)

    def start(self, container_id: str) -> None:
        try:
            self._api.start(container_id)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot start container: {exc.explanation or exc}") from None

    def stop(self, container_id: str, timeout_s: int) -> None:
        try:
            self._api.stop(container_id, timeout=timeout_s)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot stop container: {exc.explanation or exc}") from None

    def remove(self, container_id: str) -> None:
        try:
            self._api.remove_container(container_id, force=True, v=False)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot remove container: {exc.explanation or exc}") from None

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            return info_from_inspect(self._api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None

    def logs(self, container_id: str, *, follow: bool, tail: int) -> Any:
        return self._api.logs(
            container_id, stream=True, follow=follow, tail=tail if tail >= 0 else "all"
        )

    def events(self, stop: threading.Event, on_event: Callable[[str, str], None]) -> None:
        """Call `on_event(container_id, action)` for each container event, until `stop`."""
        stream = self._api.events(decode=True, filters={"type": "container", "label": TASK_LABEL})
        self._events_stream = stream
        try:
            for ev in stream:
                if stop.is_set():
                    break
                cid = ev.get("id") or ev.get("Actor", {}).get("ID", "")
                on_event(cid, str(ev.get("Action", ev.get("status", ""))))
        except Exception:  # the stream was closed under us: that is how it stops
            if not stop.is_set():
                raise
        finally:
            stream.close()

    def gateway(self) -> str:
        """The default bridge's gateway: where this node's containers find their DNS."""
        try:
            ipam = self._api.inspect_network("bridge").get("IPAM") or {}
        except docker.errors.APIError:
            return ""
        for cfg in ipam.get("Config") or []:
            if cfg.get("Gateway"):
                return str(cfg["Gateway"])
        return ""

    def stop_events(self) -> None:
        """End a running `events` call from another thread."""
        stream = self._events_stream
        if stream is not None:
            stream.close()


def _split_tag(image: str) -> tuple[str, str]:
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return repo, tag
    return image, "latest"
