"""End-to-end: the netns testbed (deploy.testbed) with real Docker Engines and registry.

Uses the session's shared testbed (tests/e2e/conftest.py). Every wait is bounded.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.conftest import BED_ARGS
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.e2e


def _names(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def _client(host: str) -> Any:
    return testbed.docker_client(host)


def test_every_engine_answers(bed: TestbedStatus) -> None:
    assert [h.name for h in bed.hosts] == ["h1", "h2", "h3"]
    for h in bed.hosts:
        assert h.dockerd_pid is not None
        assert testbed.host_docker_url(h.name) == f"unix://{h.docker_socket}"
        c = _client(h.name)
        try:
            assert c.ping()
            assert c.info()["Name"]
        finally:
            c.close()
    js = bed.to_json()
    assert set(js) == {"server", "http", "registry", "image", "hosts", "credentials", "servers",
                       "etcd", "server_pids", "etcd_pids"}
    assert set(js["hosts"][0]) == {  # type: ignore[index]
        "name", "netns", "address", "docker_socket", "agent_pid", "dockerd_pid",
    }  # fmt: skip


def test_image_pulls_and_runs_on_other_hosts(bed: TestbedStatus) -> None:
    for host in ("h2", "h3"):
        c = _client(host)
        try:
            c.images.pull(bed.image)
            out = c.containers.run(bed.image, ["echo", f"hi from {host}"], remove=True)
            assert out.decode().strip() == f"hi from {host}"
        finally:
            c.close()


def _node_network(c: Any) -> dict[str, Any] | None:
    """The agent's `dockyard0` network on an engine, once the agent has made it."""
    nets = [n for n in c.api.networks(names=["dockyard0"]) if n["Name"] == "dockyard0"]
    return nets[0] if nets else None


def test_cross_host_container_traffic(bed: TestbedStatus) -> None:
    """Stock engines: the agents' own bridge networks and routes carry container traffic."""
    c1, c2 = _client("h1"), _client("h2")
    for c in (c1, c2):
        wait_for("the agent's dockyard0 network", lambda c=c: _node_network(c), timeout_s=30)
    subnet = _node_network(c2)["IPAM"]["Config"][0]["Subnet"]  # type: ignore[index]
    web = c2.containers.run(
        bed.image, ["httpd", "-f", "-p", "80", "-h", "/var/www"], detach=True, name="tb-web",
        network="dockyard0",
    )
    try:
        web.reload()
        ip = web.attrs["NetworkSettings"]["Networks"]["dockyard0"]["IPAddress"]
        assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(subnet)
        # From host h1 itself (its gateway address is a node's, which isolation lets in:
        # a container no app owns is in no app network). busybox 1.35's `wget -T`
        # segfaults: bound it with `timeout`. Retry a few times (bounded) while httpd
        # starts.
        fetch = f"timeout 5 busybox wget -q -O - http://{ip}/"
        script = f"for i in 1 2 3 4 5; do {fetch} && exit 0; sleep 0.5; done; exit 1"
        out = subprocess.run(["nsenter", "--net=/var/run/netns/dyk-h1", "--", "sh", "-c",
                              script], capture_output=True, timeout=30, check=False).stdout
        assert b"hello from dockyard testbed" in out
    finally:
        web.remove(force=True)
        c1.close()
        c2.close()


def test_up_is_idempotent_and_revives_a_dead_dockerd(bed: TestbedStatus) -> None:
    victim = bed.hosts[1]
    assert victim.dockerd_pid is not None
    others = {h.name: h.dockerd_pid for h in bed.hosts if h.name != victim.name}
    os.kill(victim.dockerd_pid, signal.SIGKILL)
    dead = False
    for _ in range(100):
        st = testbed.status()
        assert st is not None
        dead = st.hosts[1].dockerd_pid is None
        if dead:
            break
        time.sleep(0.05)
    assert dead, "status() still reports the killed dockerd as running"
    t0 = time.monotonic()
    again = testbed.up(**BED_ARGS)
    print(f"repairing up took {time.monotonic() - t0:.1f}s")
    new_pid = again.hosts[1].dockerd_pid
    assert new_pid is not None and new_pid != victim.dockerd_pid
    assert {h.name: h.dockerd_pid for h in again.hosts if h.name != victim.name} == others
    c = _client(victim.name)
    try:
        assert c.ping()
        out = c.containers.run(bed.image, ["echo", "back"], remove=True)
        assert out.decode().strip() == "back"
    finally:
        c.close()
    # a third up with everything alive changes nothing
    third = testbed.up(**BED_ARGS)
    assert [h.dockerd_pid for h in third.hosts] == [h.dockerd_pid for h in again.hosts]


@pytest.mark.teardown
def test_down_removes_everything_and_is_idempotent(bed: TestbedStatus) -> None:
    st = testbed.status()
    assert st is not None
    pids = [h.dockerd_pid for h in st.hosts if h.dockerd_pid]
    # leave a running container behind to check its processes and shim are cleaned up
    c = _client("h3")
    try:
        c.containers.run(bed.image, ["sleep", "600"], detach=True)
    finally:
        c.close()
    testbed.down()
    testbed.down()
    assert "dyk-" not in _names(["ip", "netns", "list"])
    assert "dyk-" not in _names(["ip", "-o", "link", "show"])
    assert "dyk-br0" not in _names(["iptables", "-S", "FORWARD"])
    assert testbed.status() is None
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    state_dir = Path(os.environ.get("DOCKYARD_TESTBED_DIR", "/var/lib/dockyard-testbed"))
    leftovers = [
        p for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(state_dir) in _cmdline(p)
    ]  # fmt: skip
    assert leftovers == [], [_cmdline(p) for p in leftovers]
    assert str(state_dir) + "/" not in Path("/proc/self/mountinfo").read_text()


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
