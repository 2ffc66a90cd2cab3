"""On the testbed: the Compose runtime keys of one app reach the container,
as `docker inspect` on the host that runs the task shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, engine_containers, running_tasks, wait_for

pytestmark = pytest.mark.e2e


def keys_app(image: str) -> str:
    return f"""
name: keys
services:
  box:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    logging: {{driver: json-file, options: {{max-size: 1m}}}}
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    init: true
    extra_hosts: ["db.example:10.1.2.3"]
    tmpfs: ["/cache:size=1m"]
    sysctls: {{net.core.somaxconn: "1024"}}
    read_only: true
    shm_size: 32m
    stdin_open: true
    tty: true
    pids_limit: 64
    security_opt: ["no-new-privileges:true"]
    dns: ["10.0.0.53"]
    dns_search: ["corp.example"]
    dns_opt: ["ndots:1"]
    domainname: example.test
    group_add: ["1234"]
    ipc: shareable
    mem_limit: 64m
    cpus: 0.25
    volumes:
      - {{type: tmpfs, target: /scratch, tmpfs: {{size: 1048576}}}}
  lonely:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    network_mode: none
"""


def _inspect(bed: TestbedStatus, service: str) -> dict[str, Any]:
    found = [c for cs in engine_containers(bed, "keys").values() for c in cs
             if c["Config"]["Labels"].get("io.dockyard.service") == service]
    assert len(found) == 1, found
    return found[0]


def test_runtime_keys_reach_the_container(bed: TestbedStatus, tmp_path: Path) -> None:
    apply_text(bed, tmp_path, keys_app(bed.image))
    try:
        try:
            wait_for("2 running", lambda: len(running_tasks(bed, "keys")) == 2, timeout_s=90)
        except AssertionError as exc:
            tasks = cli(bed, "get", "tasks", "--app", "keys").stdout
            raise AssertionError(f"{exc}\n{tasks}") from None
        box = _inspect(bed, "box")
        hc, cfg = box["HostConfig"], box["Config"]
        assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
        assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
        assert hc["Init"] is True
        assert hc["ExtraHosts"] == ["db.example:10.1.2.3"]
        assert hc["Tmpfs"] == {"/cache": "size=1m", "/scratch": "size=1048576"}
        assert hc["Sysctls"] == {"net.core.somaxconn": "1024"}
        assert hc["ReadonlyRootfs"] is True
        assert hc["ShmSize"] == 32 << 20
        assert cfg["OpenStdin"] is True and cfg["Tty"] is True
        assert hc["PidsLimit"] == 64
        assert hc["SecurityOpt"] == ["no-new-privileges:true"]
        # Dockyard's resolver stays first: app names keep resolving.
        assert len(hc["Dns"]) == 2 and hc["Dns"][1] == "10.0.0.53", hc["Dns"]
        assert hc["DnsSearch"][-1] == "corp.example"
        assert hc["DnsOptions"] == ["ndots:1"]
        assert cfg["Domainname"] == "example.test"
        assert hc["GroupAdd"] == ["1234"]
        assert hc["IpcMode"] == "shareable"
        assert hc["Memory"] == 64 << 20 and hc["NanoCpus"] == 250_000_000
        lonely = _inspect(bed, "lonely")["HostConfig"]
        assert lonely["NetworkMode"] == "none"
        assert not lonely.get("PortBindings")
    finally:
        cli(bed, "delete", "app", "keys")
