"""End-to-end: the testbed with 3 etcd members and 3 control-plane replicas.

It needs a testbed of its own, so it runs after every other e2e test (teardown-marked,
and sorted after the other teardown tests by tests/e2e/conftest.py): it takes the shared
testbed down, builds the HA one, kills the leader replica and an etcd member, and takes
everything down again. Every wait is bounded; measured times are printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.bench.cluster import sleeper_app
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import apply_text, cli, cli_json, engine_containers, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.teardown]
RUN_AFTER_TEARDOWN = True  # tests/e2e/conftest.py: after the shared testbed's down test

HA_ARGS: dict[str, Any] = {
    "nodes": 3, "node_cpus": 2, "node_memory": "2G", "etcd_members": 3, "servers": 3,
}
FAILOVER_S = 20.0


def _on(bed: TestbedStatus, addr: str) -> TestbedStatus:
    """The same testbed, with the CLI pointed at one replica."""
    return dataclasses.replace(bed, server=addr)


def _nodes_ready(bed: TestbedStatus) -> bool:
    nodes = cli_json(bed, "get", "nodes")
    return len(nodes) == 3 and all(n["state"] == "ready" for n in nodes)


def _running(bed: TestbedStatus, app: str) -> dict[str, str]:
    """task id -> container id of the app's running tasks, as `get tasks` reports them."""
    tasks = cli_json(bed, "get", "tasks", "--app", app)
    return {t["id"]: t["container_id"] for t in tasks
            if t["state"] == "running" and t["desired"] == "running"}


def _engine_running(bed: TestbedStatus, app: str) -> dict[str, str]:
    """container id -> StartedAt of the app's running containers on every engine."""
    return {c["Id"]: c["State"]["StartedAt"]
            for cs in engine_containers(bed, app).values() for c in cs
            if c["State"]["Running"]}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                          check=False).stdout


def _check_context_moves_on(tmp_path: Path, servers: list[str], credentials: str) -> None:
    """`context add --use` with `servers`, then `get nodes` with nothing else to go by."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["HOME"] = str(tmp_path / "user")

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    run("context", "add", "ha", "--server", ",".join(servers), "--credentials", credentials,
        "--use")
    t0 = time.monotonic()
    nodes = json.loads(run("get", "nodes", "-o", "json"))
    print(f"get nodes with the first of {len(servers)} addresses down: "
          f"{time.monotonic() - t0:.2f}s")
    assert len(nodes) == 3


def test_ha_testbed_survives_leader_and_etcd_member_loss(tmp_path: Path) -> None:
    reason = testbed.preflight()
    if reason:
        pytest.fail(f"the e2e testbed cannot run here: {reason}")
    testbed.down(progress=lambda _m: None)  # the shared testbed, if it is still up
    pids: list[int] = []
    try:
        t0 = time.monotonic()
        bed = testbed.up(**HA_ARGS, progress=print)
        print(f"HA testbed up in {time.monotonic() - t0:.1f}s")
        assert bed.problems == []
        assert len(bed.etcd) == 3 and len(bed.servers) == 3
        assert bed.server == bed.servers[0]
        assert all(bed.etcd_pids) and all(bed.server_pids), (bed.etcd_pids, bed.server_pids)
        pids = [p for p in [*bed.etcd_pids, *bed.server_pids] if p]
        pids += [h.agent_pid for h in bed.hosts if h.agent_pid]
        assert {"servers", "etcd"} <= set(bed.to_json())

        for addr in bed.servers:  # every replica answers with the one admin credential
            wait_for(f"3 ready nodes via {addr}", lambda a=addr: _nodes_ready(_on(bed, a)),
                     timeout_s=30)

        apply_text(bed, tmp_path, sleeper_app("ha", bed.image, 3))
        before = wait_for("3 running", lambda: (r := _running(bed, "ha")) and len(r) == 3
                          and all(r.values()) and r, timeout_s=60)
        engines_before = _engine_running(bed, "ha")
        assert set(engines_before) == set(before.values())

        # kill -9 the leader replica: another takes over within the lease TTL
        old = wait_for("a leader", testbed.leader, timeout_s=FAILOVER_S)
        assert old in {"s1", "s2", "s3"}
        victim = int(old[1:]) - 1
        t0 = time.monotonic()
        assert testbed.kill_server(victim) is not None
        new = wait_for("a new leader", lambda: (ld := testbed.leader()) and ld != old and ld,
                       timeout_s=FAILOVER_S, every_s=0.05)
        failover = time.monotonic() - t0
        print(f"leader failover {old} -> {new}: {failover:.2f}s")
        survivors = [a for i, a in enumerate(bed.servers) if i != victim]
        follower = next(a for i, a in enumerate(bed.servers)
                        if i != victim and f"s{i + 1}" != new)
        via = _on(bed, follower)

        # a context that lists every replica, the dead one first: plain `get nodes` moves on
        _check_context_moves_on(tmp_path, [bed.servers[victim], *survivors], bed.credentials)

        # nodes stay ready (agents move to a surviving replica) and nothing restarts
        down_seen: list[str] = []
        deadline = time.monotonic() + 8.0
        for _ in range(200):
            nodes = cli_json(via, "get", "nodes")
            down_seen += [n["name"] for n in nodes if n["state"] != "ready"]
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert down_seen == [], f"nodes left ready after the failover: {down_seen}"
        assert _running(via, "ha") == before
        assert _engine_running(via, "ha") == engines_before

        # a scale through a surviving replica that is not the leader
        assert "scaled to 5" in cli(via, "scale", "ha/sleeper=5").stdout
        five = wait_for("5 running", lambda: (r := _running(via, "ha")) and len(r) == 5
                        and all(r.values()) and r, timeout_s=60)
        assert {k: v for k, v in five.items() if k in before} == before
        assert all(engines_before[c] == s for c, s in _engine_running(via, "ha").items()
                   if c in engines_before)

        # kill -9 an etcd member (the first, every replica's first endpoint)
        assert testbed.kill_etcd_member(0) is not None
        t0 = time.monotonic()

        def apply_and_get() -> bool:
            for addr in survivors:
                f = tmp_path / "after-etcd.yaml"
                f.write_text(sleeper_app("hb", bed.image, 2))
                on = _on(bed, addr)
                if cli(on, "apply", "-f", str(f), check=False).returncode != 0:
                    return False
                if cli(on, "get", "tasks", "--app", "ha", "-o", "json",
                       check=False).returncode != 0:
                    return False
            return True

        wait_for("apply and get with an etcd member down", apply_and_get, timeout_s=30,
                 every_s=0.5)
        print(f"apply/get through both replicas after an etcd member died: "
              f"{time.monotonic() - t0:.2f}s")
        wait_for("hb running", lambda: len(_running(via, "hb")) == 2, timeout_s=60)
        assert len(_running(via, "ha")) == 5
        assert testbed.leader() in {"s1", "s2", "s3"}
        st = testbed.status()
        assert st is not None and st.etcd_pids[0] is None and st.server_pids[victim] is None
    finally:
        testbed.down()
    assert "dyk-" not in _netns()
    assert testbed.status() is None
    assert [p for p in pids if _alive(p)] == []
    state_dir = Path(os.environ.get("DOCKYARD_TESTBED_DIR", "/var/lib/dockyard-testbed"))
    assert not any(state_dir.glob("etcd-*")) and not any(state_dir.glob("server*"))
