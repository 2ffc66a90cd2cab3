"""The control plane: HA replicas over a real 3-member etcd cluster, etcd member loss,
a server SIGKILLed mid-apply, and a SIGTERM restart. Real processes only, all on loopback.

Run with `-s` to see the measured failover times.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.controlplane.security.sealed import create_kek
from tests.integration.etcd_cluster import EtcdCluster
from tests.integration.etcd_read import embedded_read
from tests.integration.harness import (
    ServerProcess,
    free_port,
    free_port_pair,
    run_cli,
    wait_port_free,
)

pytestmark = pytest.mark.integration

LEADER_KEY = "/dockyard/cluster/leader"
LEADER_TTL_S = 2
FAILOVER_BOUND_S = 15.0

_T = TypeVar("_T")


def compose(app: str, services: dict[str, int], *, depends: bool = True) -> str:
    """A Compose file: each service with its replicas; each depends on the previous one."""
    lines = [f"name: {app}", "services:"]
    prev = None
    for name, replicas in services.items():
        lines += [
            f"  {name}:",
            "    image: 127.0.0.1:5000/busybox:latest",
            '    command: ["sleep", "3600"]',
        ]
        if depends and prev is not None:
            lines.append(f"    depends_on: [{prev}]")
        lines += ["    deploy:", f"      replicas: {replicas}"]
        prev = name
    return "\n".join(lines) + "\n"


SHOP = {"db": 1, "web": 3}
BLOG = {"store": 2, "front": 2}


def wait_for(probe: Callable[[], _T | None], timeout_s: float, every_s: float = 0.1) -> _T | None:
    """Poll `probe` until it returns something truthy, for at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            got = probe()
        except (AssertionError, RuntimeError, OSError, ValueError):
            got = None
        if got:
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(every_s)


def get_json(server: ServerProcess, kind: str, *, app: str | None = None) -> Any:
    args = ["get", kind, "-o", "json", *(["--app", app] if app else [])]
    return json.loads(run_cli(server, *args).stdout)


def apply(server: ServerProcess, tmp: Path, app: str, services: dict[str, int]) -> str:
    f = tmp / f"{app}.yaml"
    f.write_text(compose(app, services))
    return run_cli(server, "apply", "-f", str(f)).stdout


def check_tasks(tasks: list[dict[str, Any]], app: str, services: dict[str, int]) -> None:
    """Exactly `replicas` tasks per service, distinct slots, pending for want of nodes."""
    mine = [t for t in tasks if t["app"] == app]
    per_service = Counter(t["service"] for t in mine)
    assert dict(per_service) == services, f"{app}: tasks per service {dict(per_service)}"
    for svc, replicas in services.items():
        slots = [t["slot"] for t in mine if t["service"] == svc]
        assert len(set(slots)) == replicas, f"{app}/{svc}: duplicate slots {sorted(slots)}"
    assert len({t["id"] for t in mine}) == len(mine), f"{app}: duplicate task ids"
    for t in mine:
        assert t["state"] == "pending" and not t["node"], t
        assert "no nodes" in t["message"], t


def tasks_created(server: ServerProcess, app: str, services: dict[str, int]) -> bool:
    """True once `server` lists the app's tasks, complete and correct (for `wait_for`)."""
    check_tasks(get_json(server, "tasks", app=app), app, services)
    return True


def assert_tasks_appear(servers: list[ServerProcess], app: str, services: dict[str, int],
                        timeout_s: float = 10.0) -> None:
    for srv in servers:
        if not wait_for(lambda s=srv: tasks_created(s, app, services), timeout_s):  # type: ignore[misc]
            check_tasks(get_json(srv, "tasks", app=app), app, services)  # fails with detail


# --- processes -------------------------------------------------------------------------


@dataclass
class Replica(ServerProcess):
    """`dockyard server` against the external etcd cluster, as one named HA replica."""

    etcd_urls: str = ""
    name: str = ""
    flags: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        return [*super().argv(), "--etcd", self.etcd_urls, "--replica-name", self.name,
                "--leader-ttl", str(LEADER_TTL_S), *self.flags]


def new_server(root: Path, **extra: Any) -> ServerProcess:
    root.mkdir(parents=True)
    (root / "data").mkdir()
    ports = (free_port(), free_port(), free_port_pair())
    if extra:
        return Replica(root / "data", *ports, **extra)
    return ServerProcess(root / "data", *ports)


def kill_by_pid(srv: ServerProcess) -> None:
    if srv.proc is not None and srv.proc.poll() is None:
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def wait_gone(pid: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), f"pid {pid} still alive"


@dataclass
class Ha:
    etcd: EtcdCluster
    replicas: list[Replica]

    def leader_name(self) -> str | None:
        got = self.etcd.get(LEADER_KEY)
        return got.decode() if got else None

    def by_name(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[Ha]:
    etcd = EtcdCluster(tmp_path / "etcd", tls=True)
    replicas: list[Replica] = []
    try:
        etcd.start()
        urls = ",".join(etcd.urls)
        # Every replica dials etcd over TLS and shares the key that seals the CA key.
        kek = tmp_path / "kek"
        create_kek(kek)
        assert etcd.tls is not None
        flags = (*etcd.tls.server_flags(), "--kek-file", str(kek))
        replicas = [
            new_server(tmp_path / f"r{i}", etcd_urls=urls, name=f"r{i}",
                       flags=flags)  # type: ignore[misc]
            for i in range(3)
        ]
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda r: r.start(), replicas))
        yield Ha(etcd, replicas)
    finally:
        for r in replicas:
            kill_by_pid(r)
        etcd.stop()


# --- 1. HA: three replicas, one leader, failover ------------------------------------------


def test_one_leader_reconciles_applies_taken_by_any_replica_and_fails_over(
    ha: Ha, tmp_path: Path
) -> None:
    leader = wait_for(ha.leader_name, 10)
    assert leader in {"r0", "r1", "r2"}, f"no leader elected: {leader!r}"
    # Exactly one leader: the key holds one name, and it stays put while nobody dies.
    time.sleep(LEADER_TTL_S)
    assert ha.leader_name() == leader
    leading = [r.name for r in ha.replicas
               if f"{r.name} is the leader" in (r.data_dir.parent / "server.log").read_text()]
    assert leading == [leader], f"replicas that logged leadership: {leading}"

    follower = next(r for r in ha.replicas if r.name != leader)
    out = apply(follower, tmp_path, "shop", SHOP)
    assert "shop/db created" in out and "shop/web created" in out
    assert_tasks_appear(ha.replicas, "shop", SHOP)  # reads work on every replica

    old = ha.by_name(leader)
    survivors = [r for r in ha.replicas if r is not old]
    old.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    t0 = time.monotonic()
    old.proc.wait(timeout=10)  # type: ignore[union-attr]
    new = wait_for(lambda: (n := ha.leader_name()) not in (None, leader) and n, FAILOVER_BOUND_S,
                   every_s=0.02)
    took = time.monotonic() - t0
    print(f"\nfailover: {leader} killed, {new} leads after {took:.2f} s "
          f"(leader TTL {LEADER_TTL_S} s)")
    assert new in {r.name for r in survivors}, f"no new leader within {FAILOVER_BOUND_S} s"

    # Apply through the survivor that does not lead, if the new leader is not it.
    taker = next(r for r in survivors if r.name != new)
    apply(taker, tmp_path, "blog", BLOG)
    assert_tasks_appear(survivors, "blog", BLOG)

    # No task lost or duplicated by the handover, even after the new leader's rounds.
    time.sleep(1.5)
    for srv in survivors:
        tasks = get_json(srv, "tasks")
        check_tasks(tasks, "shop", SHOP)
        check_tasks(tasks, "blog", BLOG)
    assert ha.leader_name() == new


# --- 2. etcd member loss ------------------------------------------------------------------


def serving(ha: Ha, tmp: Path, app: str, services: dict[str, int], timeout_s: float) -> float:
    """Apply through one replica, then see the tasks on every live replica, retrying for up
    to `timeout_s` in all (the etcd client may need time to switch). Returns the seconds."""
    live = [r for r in ha.replicas if r.proc is not None and r.proc.poll() is None]
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    f = tmp / f"{app}.yaml"
    f.write_text(compose(app, services))
    last = ""
    while True:
        out = run_cli(live[-1], "apply", "-f", str(f), check=False)
        if out.returncode == 0:
            break
        last = out.stderr.strip()
        assert time.monotonic() < deadline, f"apply failed for {timeout_s} s: {last}"
        time.sleep(0.3)
    for srv in live:
        left = max(0.5, deadline - time.monotonic())
        if not wait_for(lambda s=srv: tasks_created(s, app, services), left, every_s=0.3):  # type: ignore[misc]
            out = run_cli(srv, "get", "tasks", "--app", app, "-o", "json", check=False)
            raise AssertionError(f"{srv.name}: tasks of {app} not listed within {timeout_s} s: "
                                 f"rc={out.returncode} {out.stderr.strip() or out.stdout[:300]}")
    return time.monotonic() - t0


def test_servers_ride_out_loss_and_restart_of_an_etcd_member(ha: Ha, tmp_path: Path) -> None:
    """Member loss and restart. The member killed first is one the servers do not use (each
    server connects to the first endpoint that answers, m0); then m0 goes down and comes
    back before the servers are asked anything."""
    assert wait_for(ha.leader_name, 10)
    serving(ha, tmp_path, "shop", SHOP, 10)

    m2 = ha.etcd.members[2]
    ha.etcd.kill(m2)
    took = serving(ha, tmp_path, "blog", BLOG, 10)
    print(f"\netcd m2 down: served in {took:.2f} s")
    ha.etcd.restart(m2)
    took = serving(ha, tmp_path, "wiki", {"app": 1}, 10)
    print(f"etcd m2 back: served in {took:.2f} s")

    m0 = ha.etcd.members[0]
    ha.etcd.kill(m0)
    time.sleep(1.0)
    ha.etcd.restart(m0)
    took = serving(ha, tmp_path, "mail", {"smtp": 2}, 15)
    print(f"etcd m0 killed and restarted: served again in {took:.2f} s")
    for srv in ha.replicas:
        tasks = get_json(srv, "tasks")
        for app, svcs in (("shop", SHOP), ("blog", BLOG), ("wiki", {"app": 1}),
                          ("mail", {"smtp": 2})):
            check_tasks(tasks, app, svcs)
    assert wait_for(ha.leader_name, 10)


def test_servers_keep_serving_while_their_etcd_member_is_down(ha: Ha, tmp_path: Path) -> None:
    assert wait_for(ha.leader_name, 10)
    serving(ha, tmp_path, "shop", SHOP, 10)
    ha.etcd.kill(ha.etcd.members[0])  # the member every server connected to
    took = serving(ha, tmp_path, "blog", BLOG, 8)
    print(f"\netcd m0 down: served in {took:.2f} s")


# --- 3. server SIGKILL in the middle of an apply -------------------------------------------


BIG = {f"s{i:02d}": 1 for i in range(40)}


def app_state(server: ServerProcess, app: str) -> tuple[bool, int]:
    """Straight from the server's embedded etcd: is the app there, how many services."""
    present = wait_for(lambda: embedded_read(server.data_dir, server.etcd_port,
                                             f"/dockyard/apps/{app}",
                                             f"/dockyard/services/{app}/"), 10)
    assert present is not None, "the embedded etcd does not answer"
    return present[0] is not None, present[1]


def restart_after_kill(server: ServerProcess) -> None:
    assert server.proc is not None
    etcd_pids = children(server.proc.pid)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)
    for pid in etcd_pids:  # the embedded etcd follows its parent (PR_SET_PDEATHSIG)
        wait_gone(pid)
    for port in (server.grpc_port, server.http_port, server.etcd_port):
        wait_port_free(port)
    server.start()


def test_sigkill_during_apply_leaves_all_or_nothing(server: ServerProcess, tmp_path: Path) -> None:
    """Kill the server while `apply` of 40 services is in flight, restart it: the app is all
    there or not at all. The kill delay is bisected between "too early" (the app is absent)
    and "too late" (present), so most kills land near the moment of the write."""
    calib = tmp_path / "calib.yaml"
    calib.write_text(compose("calib", BIG, depends=False))
    t0 = time.monotonic()
    run_cli(server, "apply", "-f", str(calib))
    full = time.monotonic() - t0
    assert app_state(server, "calib") == (True, 40)

    errors: list[str] = []
    outcomes: list[tuple[float, int, bool, int]] = []
    lo, hi = 0.3 * full, 2.0 * full  # the first kill comes after the apply: never vacuous
    with ThreadPoolExecutor(1) as pool:
        for i in range(5):
            delay = (lo + hi) / 2
            app = f"big{i}"
            f = tmp_path / f"{app}.yaml"
            f.write_text(compose(app, BIG, depends=False))
            # run_cli, in a thread, so the CLI gets whatever credentials the harness gives it
            cli = pool.submit(run_cli, server, "apply", "-f", str(f), check=False)
            time.sleep(delay)
            restart_after_kill(server)
            out = cli.result(timeout=70)
            present, n = app_state(server, app)
            outcomes.append((round(delay, 3), out.returncode, present, n))
            assert (present, n) in ((True, 40), (False, 0)), f"half an app: {outcomes[-1]}"
            if out.returncode == 0:
                assert present, f"apply reported success but the app is gone: {outcomes[-1]}"
            else:
                errors.append(out.stderr.strip())
            lo, hi = (lo, delay) if present else (delay, hi)
    print(f"\nfull apply {full:.2f} s; (kill delay, cli rc, app present, services): {outcomes}")
    print(f"CLI errors: {sorted(set(errors))}")
    assert any(o[2] for o in outcomes), f"no apply ever landed: {outcomes} {errors}"
    services = Counter(s["app"] for s in get_json(server, "services"))
    assert all(n == 40 for n in services.values()), services
    assert {a["name"] for a in get_json(server, "apps")} == set(services)


# --- 4. SIGTERM restart keeps every object ------------------------------------------------


def test_sigterm_restart_keeps_apps_services_and_tasks(
    server: ServerProcess, tmp_path: Path
) -> None:
    apply(server, tmp_path, "shop", SHOP)
    apply(server, tmp_path, "blog", BLOG)
    assert_tasks_appear([server], "shop", SHOP)
    assert_tasks_appear([server], "blog", BLOG)
    before = {k: get_json(server, k) for k in ("apps", "services", "tasks")}

    assert server.stop(signal.SIGTERM) == 0
    for port in (server.grpc_port, server.http_port, server.etcd_port):
        wait_port_free(port)
    server.start()
    assert wait_for(lambda: embedded_read(server.data_dir, server.etcd_port, LEADER_KEY)[0],
                    10), "no leader after restart"
    time.sleep(1.5)  # let the restarted leader run rounds over the reloaded state

    after = {k: get_json(server, k) for k in ("apps", "services", "tasks")}
    assert after == before
    check_tasks(after["tasks"], "shop", SHOP)
    check_tasks(after["tasks"], "blog", BLOG)
