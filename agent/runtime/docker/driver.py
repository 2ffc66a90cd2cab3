"""The Docker Engine driver: `agent.runtime.driver.Driver` through the docker SDK.

Every method blocks (`blocking = True`), so the runner calls them in worker threads.
Creates are translated by `create.py`, engine documents are read by `inspect.py`; this
file holds only the calls and the engine's errors turned into `DriverError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from dockyard.agent.containers import (
    NODE_LABEL,
    TASK_LABEL,
    container_name,
    volume_labels,
    volume_name,
)
from dockyard.agent.metrics import PULL_SECONDS, timed
from dockyard.agent.runtime.docker.create import (
    START_INTERVAL_API,
    api_at_least,
    create_kwargs,
    start_interval_ns,
    subpath_refusal,
)
from dockyard.agent.runtime.docker.exec import DockerExec
from dockyard.agent.runtime.docker.inspect import (
    bridge_gateway,
    info_from_inspect,
    oci_architecture,
    split_tag,
)
from dockyard.agent.runtime.driver import (
    ContainerInfo,
    CreateRequest,
    DriverError,
    EventHandler,
    ExecResult,
    ExecSpec,
    LogStream,
    RuntimeDescription,
)
from dockyard.common.buildlog import BuildFailed, build_and_push
from dockyard.v1 import specs_pb2

log = logging.getLogger("dockyard.agent.docker")


def _why(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc)


class _EventWatch:
    """The engine's event stream, read in a daemon thread until `close()`."""

    def __init__(self, api: Any, on_change: EventHandler) -> None:
        self._stop = threading.Event()
        self._stream = api.events(decode=True, filters={"type": "container", "label": TASK_LABEL})
        self._thread = threading.Thread(target=self._pump, args=(on_change,),
                                        name="docker-events", daemon=True)
        self._thread.start()

    def _pump(self, on_change: EventHandler) -> None:
        try:
            for ev in self._stream:
                if self._stop.is_set():
                    break
                cid = ev.get("id") or ev.get("Actor", {}).get("ID", "")
                on_change(str(cid))
        except Exception:  # the stream was closed under us: that is how it stops
            pass
        finally:
            self._stream.close()

    def close(self) -> None:
        self._stop.set()
        self._stream.close()


class DockerDriver:
    blocking = True

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        try:
            self._client = docker.DockerClient(base_url=base_url, timeout=120)
            found = self._client.version()
            self.version = str(found.get("Version", ""))
            self.api_version = str(found.get("ApiVersion", ""))
        except docker.errors.DockerException as exc:
            raise DriverError(f"Docker Engine unreachable at {base_url}: {exc}") from None
        self._api = self._client.api

    def describe(self) -> RuntimeDescription:
        try:
            info = self._api.info()
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot describe the engine: {_why(exc)}") from None
        return RuntimeDescription(
            name="docker", version=self.version, cpus=float(info.get("NCPU") or 0),
            memory_bytes=int(info.get("MemTotal") or 0), gateway=self._gateway(),
            architecture=oci_architecture(str(info.get("Architecture") or "")))

    def owned(self, node: str) -> dict[str, ContainerInfo]:
        mine = {"label": [TASK_LABEL, f"{NODE_LABEL}={node}"]}
        found = self._api.containers(all=True, filters=mine)
        out = {}
        for c in found:
            info = self.inspect(c["Id"])
            if info is not None and info.task_id:
                out[info.task_id] = info
        return out

    def _ensure_image(self, image: str, platform: str) -> None:
        try:
            self._api.inspect_image(image)
            return
        except docker.errors.ImageNotFound:
            pass
        repo, tag = split_tag(image)
        try:
            with timed(PULL_SECONDS):
                self._api.pull(repo, tag=tag, platform=platform or None)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot pull {image}: {_why(exc)}") from None

    def _ensure_volumes(self, req: CreateRequest) -> None:
        """Each named volume of the task, made with exactly its driver and options (an
        existing one is used as it is); an external one must exist already."""
        for spec in req.task.volumes:
            name = volume_name(req.task, spec.name)
            try:
                if spec.external:
                    self._api.inspect_volume(name)
                    continue
                self._api.create_volume(
                    name=name, driver=spec.driver or "local",
                    driver_opts=dict(spec.driver_opts) or None,
                    labels=volume_labels(req.task, spec))
            except docker.errors.NotFound:
                raise DriverError(f"external volume {name} does not exist on this node") from None
            except docker.errors.APIError as exc:
                raise DriverError(f"cannot create volume {name}: {_why(exc)}") from None

    def remove_volume(self, name: str) -> bool:
        """Remove a named volume; True when it is gone (or never was), False while a
        container still uses it."""
        try:
            self._api.remove_volume(name)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                return False
            raise DriverError(f"cannot remove volume {name}: {_why(exc)}") from None
        return True

    def create(self, req: CreateRequest) -> str:
        refused = subpath_refusal(req.task.spec, self.api_version)
        if refused:
            raise DriverError(f"cannot create container: {refused}")
        self._ensure_image(req.task.spec.image, req.task.spec.platform)
        name = container_name(req.task)
        try:
            existing = self._api.containers(all=True, filters={"name": f"^/{name}$"})
            if existing:
                return str(existing[0]["Id"])
            self._ensure_volumes(req)
            kw = create_kwargs(req)
            start_interval = start_interval_ns(req.task.spec)
            if start_interval and api_at_least(self.api_version, START_INTERVAL_API):
                return self._create_with_start_interval(kw, start_interval)
            if start_interval:
                log.warning("task %s: healthcheck.start_interval is not applied: the engine "
                            "speaks API %s, older than 1.44; the engine's default is used",
                            req.task.meta.id, self.api_version or "?")
            container = self._client.containers.create(**kw)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot create container: {_why(exc)}") from None
        return str(container.id)

    def _create_with_start_interval(self, kw: dict[str, Any], start_interval: int) -> str:
        """`containers.create`, plus the healthcheck's StartInterval the SDK leaves out."""
        from docker.models.containers import _create_container_args

        args = _create_container_args({**kw, "version": self._api._version})
        name, platform = args.pop("name", None), args.pop("platform", None)
        config = self._api.create_container_config(**args)
        config["Healthcheck"]["StartInterval"] = start_interval
        return str(self._api.create_container_from_config(config, name, platform)["Id"])

    def start(self, container_id: str) -> None:
        try:
            self._api.start(container_id)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot start container: {_why(exc)}") from None

    def stop(self, container_id: str, timeout_s: int) -> None:
        try:
            self._api.stop(container_id, timeout=timeout_s)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot stop container: {_why(exc)}") from None

    def remove(self, container_id: str) -> None:
        try:
            self._api.remove_container(container_id, force=True, v=False)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot remove container: {_why(exc)}") from None

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            return info_from_inspect(self._api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None

    def logs(self, container_id: str, *, follow: bool, tail: int) -> LogStream:
        stream: LogStream = self._api.logs(
            container_id, stream=True, follow=follow, tail=tail if tail >= 0 else "all"
        )
        return stream

    def exec(self, container_id: str, argv: list[str]) -> ExecResult:
        try:
            ex = self._api.exec_create(container_id, argv)
            output = self._api.exec_start(ex["Id"])
            code = self._api.exec_inspect(ex["Id"]).get("ExitCode")
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot exec in container: {_why(exc)}") from None
        return ExecResult(exit_code=int(code or 0), output=bytes(output or b""))

    def open_exec(self, container_id: str, spec: ExecSpec) -> DockerExec:
        return DockerExec(self._api, container_id, spec)

    def watch(self, on_change: EventHandler) -> _EventWatch:
        return _EventWatch(self._api, on_change)

    def build(self, context: bytes, spec: specs_pb2.BuildSpec, tag: str,
              on_line: Callable[[str], None]) -> str:
        try:
            return build_and_push(self._api, tar=context, dockerfile=spec.dockerfile,
                                  args=spec.args, target=spec.target, tag=tag,
                                  on_line=on_line)
        except BuildFailed as exc:
            raise DriverError(str(exc)) from None

    def _gateway(self) -> str:
        """The default bridge's gateway: where this node's containers find their DNS."""
        try:
            return bridge_gateway(self._api.inspect_network("bridge"))
        except docker.errors.APIError:
            return ""
