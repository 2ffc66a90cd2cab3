"""Fixtures for integration tests: a fresh real server per test."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.client.control import control_stub
from dockyard.v1 import control_pb2_grpc
from tests.integration.harness import ServerProcess, free_port, free_port_pair, wait_port_free


def running_server(root: Path, *extra: str) -> Iterator[ServerProcess]:
    """A started server under `root` (`extra` flags added), killed and its ports freed
    afterwards."""
    srv = ServerProcess(root / "data", free_port(), free_port(), free_port_pair())
    srv.data_dir.mkdir()
    srv.start(*extra)
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
    wait_port_free(srv.etcd_port)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path)



@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by a module's tests (each test reads back what it changed)."""
    yield from running_server(tmp_path_factory.mktemp("module"))


@pytest.fixture(scope="module")
def admin_stub(module_server: ServerProcess) -> control_pb2_grpc.ControlStub:
    """The Control API of `module_server`, with its admin credential, as the CLI dials it."""
    return control_stub(module_server.address, module_server.credentials)
