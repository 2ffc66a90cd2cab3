"""An interactive command in a container through the Engine's exec API.

`exec_start(socket=True)` hands back the raw connection the engine hijacked: the
command's input is written to it and its output read from it. Without a terminal the
engine frames the output (8-byte headers naming stdout or stderr); with one, the bytes
are the terminal's. Ending the input is a half-close of that connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import docker.errors
from docker.utils.socket import frames_iter

from dockyard.agent.runtime.driver import DriverError, ExecSpec


class DockerExec:
    """One exec instance and its hijacked connection (`agent.runtime.driver.ExecSession`)."""

    def __init__(self, api: Any, container_id: str, spec: ExecSpec) -> None:
        self._api = api
        self._tty = spec.tty
        try:
            self._id = str(api.exec_create(
                container_id, list(spec.argv), stdin=spec.stdin, tty=spec.tty,
                environment=list(spec.env) or None, user=spec.user,
                workdir=spec.workdir or None)["Id"])
            self._conn = api.exec_start(self._id, tty=spec.tty, socket=True)
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot exec in container: {exc.explanation or exc}") from None
        self._sock: socket.socket = getattr(self._conn, "_sock", self._conn)
        if spec.tty and spec.rows and spec.cols:
            self.resize(spec.rows, spec.cols)

    def output(self) -> Iterator[tuple[int, bytes]]:
        try:
            for stream, data in frames_iter(self._conn, self._tty):
                if data:
                    yield int(stream), bytes(data)
        except OSError:  # the connection was closed under us: the command's end
            return

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError:  # the command has ended and no longer reads
            pass

    def close_input(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def resize(self, rows: int, cols: int) -> None:
        try:
            self._api.exec_resize(self._id, height=rows, width=cols)
        except docker.errors.APIError:  # not started yet, or already ended
            pass

    def exit_code(self) -> int:
        try:
            code = self._api.exec_inspect(self._id).get("ExitCode")
        except docker.errors.APIError as exc:
            raise DriverError(f"cannot read the exit code: {exc.explanation or exc}") from None
        return int(code if code is not None else 0)

    def close(self) -> None:
        try:
            self._conn.close()
            self._sock.close()
        except OSError:
            pass
