"""On the testbed: the Compose runtime keys of one app reach the container,
as `docker inspect` on the host that runs the task shows them; `platform` is seen by
where a task may run. Every key client/compose/keys.py says is passed to the engine is
in the app below (test_every_engine_key_is_in_the_app checks, from the table)."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.agent.runtime.docker.create import START_INTERVAL_API, SUBPATH_API, api_at_least
from dockyard.client.compose.keys import SERVICE, Handling
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import (
    cli,
    cli_json,
    engine_api,
    engine_containers,
    running_tasks,
    wait_for,
)

pytestmark = pytest.mark.e2e


ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
OTHER_ARCH = "arm64" if ARCH == "amd64" else "amd64"


def keys_app(image: str, site: Path) -> str:
    return f"""
name: keys
services:
  box:
    image: {image}
    entrypoint: ["sleep"]
    command: ["86400"]
    stop_signal: SIGKILL
    platform: linux/{ARCH}
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    environment: {{KEYS_WALK: "1"}}
    hostname: boxhost
    labels: {{team: keys}}
    user: "1000:1000"
    working_dir: /tmp
    healthcheck: {{test: ["CMD", "true"], interval: 7s, timeout: 3s, retries: 4,
                   start_period: 2s, start_interval: 1s}}
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
      - {{type: tmpfs, target: /scratch, tmpfs: {{size: 1048576, mode: 0o700}}}}
      - {{type: bind, source: {site}, target: /site, read_only: true,
         bind: {{propagation: private, selinux: z}}}}
      - {{type: bind, source: {site}, target: /must, bind: {{create_host_path: false}}}}
      - {{type: volume, source: data, target: /data, volume: {{nocopy: true}}}}
  lonely:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    network_mode: none
    healthcheck: {{disable: true}}
  wide:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    pid: host
    uts: host
    userns_mode: host
    devices: ["/dev/null:/dev/xnull"]
    device_cgroup_rules: ["c 1:3 rmw"]
    deploy: {{resources: {{limits: {{pids: 77, cpus: "0.5", memory: 48m}}}}}}
  priv:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    privileged: true
  deep:
    image: {image}
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    volumes:
      - {{type: volume, source: data, target: /www, volume: {{subpath: www}}}}
  foreign:
    image: {image}
    command: ["sleep", "86400"]
    platform: linux/{OTHER_ARCH}
volumes:
  data: {{}}
"""

ALLOW = "capabilities,privileged,host-namespaces,devices"


def _engine_keys() -> list[str]:
    return sorted(k for k, v in SERVICE.items() if v.handling is Handling.APPLIED
                  and ("passed to the engine" in v.note or "by the engine" in v.note))


def _keys_of(doc: Any, prefix: str = "") -> set[str]:
    """Every key path of a service's mapping, with dots, list items under the list's name."""
    out: set[str] = set()
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        if isinstance(item, dict):
            for key, value in item.items():
                path = f"{prefix}{key}"
                out.add(path)
                out |= _keys_of(value, f"{path}.")
    return out


def test_every_engine_key_is_in_the_app(tmp_path: Path) -> None:
    services = yaml.safe_load(keys_app("busybox", tmp_path))["services"]
    used = set().union(*(_keys_of(body) for body in services.values()))
    # `cpus` and `mem_limit` say "the CPU/memory limit": they are in the app too
    assert [k for k in _engine_keys() if k not in used] == []


def _inspect(bed: TestbedStatus, service: str) -> dict[str, Any]:
    found = [c for cs in engine_containers(bed, "keys").values() for c in cs
             if c["Config"]["Labels"].get("io.dockyard.service") == service]
    assert len(found) == 1, found
    return found[0]


def test_runtime_keys_reach_the_container(bed: TestbedStatus, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "compose.yaml").write_text(keys_app(bed.image, site))
    applied = cli(bed, "apply", "-f", str(tmp_path / "compose.yaml"), "--allow", ALLOW)
    try:
        try:
            wait_for("3 running", lambda: len(running_tasks(bed, "keys")) == 3, timeout_s=90)
        except (AssertionError, TimeoutError) as exc:
            tasks = cli(bed, "get", "tasks", "--app", "keys").stdout
            why = cli(bed, "describe", "app", "keys", check=False).stdout
            raise AssertionError(f"{exc}\n{tasks}\n{why}") from None
        box = _inspect(bed, "box")
        hc, cfg = box["HostConfig"], box["Config"]
        assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
        assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
        assert hc["Init"] is True
        assert hc["ExtraHosts"] == ["db.example:10.1.2.3"]
        assert hc["Tmpfs"] == {"/cache": "size=1m", "/scratch": "size=1048576,mode=700"}
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
        assert cfg["Entrypoint"] == ["sleep"] and cfg["Cmd"] == ["86400"]
        assert cfg["StopSignal"] == "SIGKILL"
        assert [c.removeprefix("CAP_") for c in hc["CapAdd"]] == ["NET_ADMIN"]
        assert [c.removeprefix("CAP_") for c in hc["CapDrop"]] == ["MKNOD"]
        assert "KEYS_WALK=1" in cfg["Env"]
        assert cfg["Hostname"] == "boxhost" and cfg["Labels"]["team"] == "keys"
        assert (cfg["User"], cfg["WorkingDir"]) == ("1000:1000", "/tmp")
        assert cfg["Healthcheck"]["Test"] == ["CMD", "true"]
        assert (cfg["Healthcheck"]["Interval"], cfg["Healthcheck"]["Timeout"],
                cfg["Healthcheck"]["Retries"], cfg["Healthcheck"]["StartPeriod"]) == (
            7_000_000_000, 3_000_000_000, 4, 2_000_000_000)
        # start_interval reaches an engine that reads it; of older ones apply warns
        node = next(t["node"] for t in running_tasks(bed, "keys") if t["service"] == "box")
        api = engine_api(bed, node)
        if api_at_least(api, START_INTERVAL_API):
            assert cfg["Healthcheck"]["StartInterval"] == 1_000_000_000
        else:
            notes = [x for x in applied.stderr.splitlines() if "start_interval" in x]
            assert len(notes) == 1 and notes[0].startswith(
                "warning: service box: healthcheck.start_interval is not applied on "), (
                api, applied.stderr)
        assert f"{site}:/site:ro,z,private" in hc["Binds"], hc["Binds"]
        assert any(b.startswith("keys_data:/data:") and b.endswith(",nocopy")
                   for b in hc["Binds"]), hc["Binds"]
        mounts = {m["Target"]: m for m in hc.get("Mounts") or []}
        assert mounts["/must"]["Type"] == "bind" and mounts["/must"]["Source"] == str(site)
        seen = {m["Destination"]: m for m in box["Mounts"]}
        assert seen["/site"]["RW"] is False and seen["/site"]["Propagation"] == "private"
        lonely_box = _inspect(bed, "lonely")
        lonely = lonely_box["HostConfig"]
        assert lonely["NetworkMode"] == "none"
        assert not lonely.get("PortBindings")
        assert lonely_box["Config"]["Healthcheck"]["Test"] == ["NONE"]
        wide = _inspect(bed, "wide")["HostConfig"]
        assert (wide["PidMode"], wide["UTSMode"], wide["UsernsMode"]) == ("host", "host", "host")
        assert [(d["PathOnHost"], d["PathInContainer"]) for d in wide["Devices"]] == [
            ("/dev/null", "/dev/xnull")]
        assert wide["DeviceCgroupRules"] == ["c 1:3 rmw"]
        assert wide["PidsLimit"] == 77
        assert (wide["NanoCpus"], wide["Memory"]) == (500_000_000, 48 << 20)
        # volumes.volume.subpath: an engine that reads it mounts the subpath; of older
        # ones apply warns, one line, and the task fails rather than mount the whole volume
        notes = [x for x in applied.stderr.splitlines() if "subpath" in x]
        deep = [c for cs in engine_containers(bed, "keys").values() for c in cs
                if c["Config"]["Labels"].get("io.dockyard.service") == "deep"]
        if not api_at_least(api, SUBPATH_API):  # the box's node: the testbed's are alike
            assert len(notes) == 1 and notes[0].startswith(
                "warning: service deep: volumes.volume.subpath cannot be mounted on "), (
                applied.stderr)
            assert deep == [], "a whole volume was mounted for a subpath"
            wait_for("deep's refusal", lambda: "volumes.volume.subpath (/www) needs Docker "
                     "Engine 26" in cli(bed, "get", "tasks", "--app", "keys").stdout,
                     timeout_s=60)
        else:
            wait_for("deep running", lambda: len(running_tasks(bed, "keys")) == 4, timeout_s=60)
            deep = [c for cs in engine_containers(bed, "keys").values() for c in cs
                    if c["Config"]["Labels"].get("io.dockyard.service") == "deep"]
            mount = next(m for m in deep[0]["HostConfig"]["Mounts"] if m["Target"] == "/www")
            assert mount["VolumeOptions"]["Subpath"] == "www"
        # privileged reaches the engine; whether the container then starts depends on the
        # host (in a container without every capability, runc cannot grant them all), so
        # its container is looked at as the engine made it, started or not
        wait_for("priv's container", lambda: any(
            c["HostConfig"]["Privileged"] is True
            for cs in engine_containers(bed, "keys").values() for c in cs
            if c["Config"]["Labels"].get("io.dockyard.service") == "priv"), timeout_s=60)
        # platform: the task whose image is for another architecture waits, and says so
        foreign = [t for t in cli_json(bed, "get", "tasks", "--app", "keys")
                   if t["service"] == "foreign"]
        assert len(foreign) == 1 and foreign[0]["state"] != "running", foreign
        assert f"cannot run platform linux/{OTHER_ARCH}" in foreign[0]["message"], foreign
    finally:
        cli(bed, "delete", "app", "keys")
