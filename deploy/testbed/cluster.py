"""Testbed orchestration: ``up``, ``down``, ``status`` and the failure-test helpers.

``up`` is idempotent (it revives dead processes and re-creates missing network pieces);
``down`` removes exactly what the state file records, plus anything found by name under
the testbed's prefix, and is safe to run twice or after a crash.
"""

from __future__ import annotations

import shutil
import signal
import socket
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from . import engines, images, netns, services
from .layout import (
    MAX_NODES,
    NAME_PREFIX,
    ROUTER_NETNS,
    HostPlan,
    Layout,
    Route,
    plan,
    resolve_state_dir,
)
from .processes import (
    ProcRecord,
    is_alive,
    pids_mentioning,
    signal_pid,
    stop,
    stop_pids,
    tail,
    wait_until,
)
from .state import IptablesRule, TestbedState, load, locked, save
from .status import TestbedStatus, build_status

Progress = Callable[[str], None]
ENGINE_WAIT_S = 30.0
REGISTRY_WAIT_S = 15.0
AGENT_SETTLE_S = 1.5
AGENT_STOP_S = 3.0
ETCD_WAIT_S = 20.0
LEADER_KEY = "/dockyard/cluster/leader"  # controlplane/election.py


class TestbedError(RuntimeError):
    """The testbed could not be brought up (one readable line)."""

    __test__ = False


# --- up -----------------------------------------------------------------------------------


def _net_up(layout: Layout, st: TestbedState, state_file: Path) -> None:
    st.bridge = layout.bridge
    save(state_file, st)
    for bridge in layout.segment_bridges:
        if bridge != layout.bridge:
            st.add_unique("links", bridge)  # recorded before it is made
        rule = netns.forward_rule(bridge)
        st.add_rule(IptablesRule(None, "filter", "FORWARD", tuple(rule)))
        save(state_file, st)
        netns.ensure_bridge(bridge, layout.gateway_ip if bridge == layout.bridge else None, 24)
        netns.iptables_ensure_first(None, "filter", "FORWARD", rule)
    if layout.router_legs:
        st.add_unique("netns", ROUTER_NETNS)
        for leg in layout.router_legs:
            st.add_unique("links", leg.veth)
        for r in layout.root_routes:
            if vars(r) not in st.root_routes:
                st.root_routes.append(dict(vars(r)))
        save(state_file, st)
        netns.ensure_router(ROUTER_NETNS, layout.router_legs)
        netns.ensure_routes(None, layout.root_routes)
    for h in layout.hosts:
        st.add_unique("netns", h.netns)
        st.add_unique("links", h.veth)
        save(state_file, st)
        netns.ensure_host(h, h.bridge)
        netns.ensure_routes(h.netns, h.routes)
    save(state_file, st)


def _ensure_proc(
    st: TestbedState, key: str, starter: Callable[[], ProcRecord], progress: Progress
) -> bool:
    """Start the process under ``key`` unless it runs; True if it was (re)started."""
    rec = st.processes.get(key)
    if is_alive(rec):
        return False
    if rec is not None:
        progress(f"{key}: not running (was pid {rec.pid}); restarting")
    st.processes[key] = starter()
    return True


def _engine_settled(h: HostPlan, rec: ProcRecord) -> bool:
    return images.engine_ping(h.docker_socket) or not is_alive(rec)


def _engines_up(layout: Layout, st: TestbedState, state_file: Path, progress: Progress) -> None:
    started = []
    for h in layout.hosts:
        if _ensure_proc(
            st, f"dockerd:{h.name}", partial(engines.start_dockerd, layout, h), progress
        ):
            started.append(h)
    save(state_file, st)
    t0 = time.monotonic()
    for h in layout.hosts:
        rec = st.processes[f"dockerd:{h.name}"]
        left = max(1.0, ENGINE_WAIT_S - (time.monotonic() - t0))
        if not wait_until(partial(_engine_settled, h, rec), left, 0.2):
            raise TestbedError(
                f"{h.name}: dockerd did not answer /_ping within "
                f"{ENGINE_WAIT_S:.0f}s: {tail(h.dockerd_log)}"
            )
        if not is_alive(rec):
            raise TestbedError(f"{h.name}: dockerd exited: {tail(h.dockerd_log)}")
        if h in started:
            progress(
                f"{h.name}: dockerd ready (pid {rec.pid}, "
                f"{time.monotonic() - t0:.1f}s) at {h.docker_url}"
            )
    save(state_file, st)


def _registry_up(layout: Layout, st: TestbedState, state_file: Path, progress: Progress) -> None:
    if _ensure_proc(st, "registry", lambda: services.start_registry(layout), progress):
        save(state_file, st)
    rec = st.processes["registry"]
    if not wait_until(
        lambda: images.registry_ready(layout.registry_addr) or not is_alive(rec),
        REGISTRY_WAIT_S,
        0.1,
    ) or not is_alive(rec):
        raise TestbedError(
            f"registry at {layout.registry_addr} did not start: {tail(layout.registry_log)}"
        )


def _upstream_dns_up(
    layout: Layout, st: TestbedState, state_file: Path, progress: Progress
) -> None:
    if _ensure_proc(st, "upstream-dns", lambda: services.start_upstream_dns(layout), progress):
        save(state_file, st)
    rec = st.processes["upstream-dns"]
    if not wait_until(
        lambda: "upstream DNS on" in tail(layout.upstream_dns_log) or not is_alive(rec),
        REGISTRY_WAIT_S,
        0.1,
    ) or not is_alive(rec):
        raise TestbedError(
            f"upstream DNS on {layout.upstream_dns} did not start: "
            f"{tail(layout.upstream_dns_log)}"
        )


def _image_up(layout: Layout, st: TestbedState, state_file: Path, progress: Progress) -> None:
    if images.registry_has(layout.image_tag):
        st.image = layout.image_tag
        return
    t0 = time.monotonic()
    ctx = images.busybox_context(layout.image_dir)
    images.build_and_push(layout.hosts[0].docker_socket, ctx, layout.image_tag)
    st.image = layout.image_tag
    save(state_file, st)
    progress(f"image {layout.image_tag} built and pushed ({time.monotonic() - t0:.1f}s)")


def _listening(addr: str) -> bool:
    host, _, port = addr.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def _etcd_up(layout: Layout, st: TestbedState, state_file: Path, progress: Progress) -> None:
    """Start (or revive, rejoining on their data) the external etcd members, if any."""
    if not layout.etcd_members:
        return
    started = [
        m
        for m in layout.etcd_members
        if _ensure_proc(st, m.key, partial(services.start_etcd, layout, m), progress)
    ]
    save(state_file, st)
    t0 = time.monotonic()
    opener = services.etcd_opener(layout)

    def settled() -> bool:
        return all(
            services.etcd_healthy(opener, m.client_url) or not is_alive(st.processes[m.key])
            for m in layout.etcd_members
        )

    wait_until(settled, ETCD_WAIT_S, 0.1)
    for m in layout.etcd_members:
        rec = st.processes[m.key]
        if not is_alive(rec) or not services.etcd_healthy(opener, m.client_url):
            raise TestbedError(
                f"etcd member {m.name} on {m.client_url} did not become healthy within "
                f"{ETCD_WAIT_S:.0f}s: {tail(m.log)}"
            )
        if m in started:
            progress(
                f"etcd {m.name} ready (pid {rec.pid}, {time.monotonic() - t0:.1f}s) "
                f"on {m.client_url}"
            )


def _servers_up(
    layout: Layout, st: TestbedState, state_file: Path, progress: Progress, problems: list[str]
) -> None:
    first = layout.servers[0]
    if _ensure_proc(st, first.key, partial(services.start_server, layout, first), progress):
        save(state_file, st)
    srv = st.processes[first.key]
    # Agents read the join token from the first server's token file (never from their
    # command line): wait until it is written.
    wait_until(
        lambda: services.read_token(layout) is not None or not is_alive(srv),
        services.TOKEN_WAIT_S,
        0.1,
    )
    # The other replicas start once the first has stored the CA and the join token in
    # etcd, so they read those instead of racing to make their own.
    for s in layout.servers[1:]:
        _ensure_proc(st, s.key, partial(services.start_server, layout, s), progress)
    save(state_file, st)
    t0 = time.monotonic()
    for s in layout.servers:
        rec = st.processes[s.key]
        left = max(1.0, services.TOKEN_WAIT_S - (time.monotonic() - t0))
        wait_until(lambda: _listening(s.addr) or not is_alive(rec), left, 0.1)  # noqa: B023
        name = "server" if len(layout.servers) == 1 else f"server {s.name}"
        if not is_alive(rec) or not _listening(s.addr):
            problems.append(f"{name} failed to start: {tail(s.log)}")
            progress(problems[-1])
        else:
            progress(f"{name} running (pid {rec.pid}) on {s.addr}")


def _dockyard_up(
    layout: Layout, st: TestbedState, state_file: Path, progress: Progress, problems: list[str]
) -> None:
    _etcd_up(layout, st, state_file, progress)
    _servers_up(layout, st, state_file, progress, problems)
    started = [
        h
        for h in layout.hosts
        if _ensure_proc(
            st, f"agent:{h.name}", partial(services.start_agent, layout, h, st), progress
        )
    ]
    save(state_file, st)
    if started:
        time.sleep(AGENT_SETTLE_S)
    for h in started:
        rec = st.processes[f"agent:{h.name}"]
        if is_alive(rec):
            progress(f"{h.name}: agent running (pid {rec.pid})")
        else:
            problems.append(f"{h.name}: agent failed to start: {tail(h.agent_log)}")
            progress(problems[-1])


def up(
    *,
    nodes: int = 3,
    node_cpus: float | None = None,
    node_memory: str | None = None,
    labels: Sequence[str] = (),
    with_dockyard: bool = True,
    etcd_members: int = 0,
    servers: int = 1,
    segments: int | None = None,
    state_dir: Path | None = None,
    progress: Progress = print,
) -> TestbedStatus:
    """Bring the testbed up, or repair it if it is already up (see the package doc).

    ``etcd_members`` > 0 runs that many external etcd members (127.0.0.1:24010+) instead
    of the server's embedded etcd; ``servers`` > 1 (which needs them) runs that many
    control-plane replicas on 10.213.0.1:7070+i, and every agent joins them all.
    ``segments`` > 1 splits the hosts over that many L2 segments joined by a router
    namespace (layout.py), so agents use VXLAN between segments; None keeps what the
    running testbed has (1 for a new one), so a repairing `up` needs not repeat it.
    """
    sd = resolve_state_dir(state_dir)
    t0 = time.monotonic()
    if servers > 1 and etcd_members <= 0:
        raise TestbedError(f"servers={servers} needs external etcd (etcd_members > 0, e.g. 3)")
    if segments is None:
        recorded = load(sd / "state.json")
        segments = recorded.segments if recorded is not None else 1
    try:
        layout = plan(nodes, sd, etcd_members=etcd_members, servers=servers,
                      segments=segments)
    except ValueError as exc:
        raise TestbedError(str(exc)) from None
    with locked(sd / "lock"):
        st = load(sd / "state.json")
        if st is not None and st.nodes != nodes:
            raise TestbedError(
                f"a testbed with {st.nodes} nodes is up in {sd}; run down first to get {nodes}"
            )
        if st is not None and (st.etcd_members, st.servers) != (etcd_members, servers):
            raise TestbedError(
                f"a testbed with {st.etcd_members} etcd members and {st.servers} servers is "
                f"up in {sd}; run down first to get {etcd_members} and {servers}"
            )
        if st is not None and st.segments != segments:
            raise TestbedError(
                f"a testbed on {st.segments} segments is up in {sd}; run down first to get "
                f"{segments}"
            )
        st = st or TestbedState(nodes=nodes, etcd_members=etcd_members, servers=servers,
                                segments=segments)
        st.node_cpus = f"{node_cpus:g}" if node_cpus is not None else st.node_cpus
        st.node_memory = node_memory or st.node_memory
        st.labels = list(labels) or st.labels
        st.with_dockyard = with_dockyard
        state_file = layout.state_file
        problems: list[str] = []
        _net_up(layout, st, state_file)
        _registry_up(layout, st, state_file, progress)
        _upstream_dns_up(layout, st, state_file, progress)
        _engines_up(layout, st, state_file, progress)
        _image_up(layout, st, state_file, progress)
        if with_dockyard:
            _dockyard_up(layout, st, state_file, progress, problems)
        save(state_file, st)
        ha = f", {servers} servers on {etcd_members} etcd members" if etcd_members else ""
        ha += f", {segments} segments joined by {ROUTER_NETNS}" if segments > 1 else ""
        progress(
            f"testbed up: {nodes} hosts{ha}, registry {layout.registry_addr}, "
            f"image {layout.image_tag} ({time.monotonic() - t0:.1f}s)"
        )
        return build_status(layout, st, problems)


# --- down ---------------------------------------------------------------------------------


def _discovered_nodes(sd: Path) -> int:
    found = [
        int(n[len(NAME_PREFIX) + 1 :])
        for n in netns.list_netns(f"{NAME_PREFIX}h")
        if n[len(NAME_PREFIX) + 1 :].isdigit()
    ]
    found += [int(p.name[1:]) for p in sd.glob("h*") if p.name[1:].isdigit()]
    return max(found, default=1)


def down(*, state_dir: Path | None = None, progress: Progress = print) -> None:
    """Remove the testbed: processes, mounts, namespaces, links, rules and state dirs."""
    sd = resolve_state_dir(state_dir)
    t0 = time.monotonic()
    if not sd.exists() and not netns.list_netns(NAME_PREFIX):
        progress("testbed down: nothing to remove")
        return
    with locked(sd / "lock"):
        st = load(sd / "state.json")
        layout = plan(max(st.nodes if st else 1, _discovered_nodes(sd)), sd)
        procs = st.processes if st else {}
        # Agents and server first, then the engines (gracefully, all at once), then the rest.
        agents = [r for k, r in procs.items() if k.startswith("agent:") and is_alive(r)]
        stop_pids([r.pid for r in agents], timeout=AGENT_STOP_S)
        # every replica at once, while etcd still runs (they resign leadership), then etcd
        servers = [r for k, r in procs.items() if _is_server_key(k) and is_alive(r)]
        stop_pids([r.pid for r in servers], timeout=5.0)
        server_dirs = [layout.server_dir, *sorted(sd.glob("server-*"))]
        stop_pids([p for d in server_dirs for p in pids_mentioning(d)], timeout=5.0)
        members = [r for k, r in procs.items() if k.startswith("etcd:") and is_alive(r)]
        stop_pids([r.pid for r in members], timeout=3.0)
        etcd_dirs = sorted(sd.glob("etcd-*"))
        stop_pids([p for d in etcd_dirs for p in pids_mentioning(d)], timeout=3.0)
        # A testbed has no use for graceful container stops: kill them, then the engines
        # (all at once) have nothing to wait for.
        for h in layout.hosts:
            engines.kill_containers(h)
        engines_recs = [procs[k] for k in procs if k.startswith("dockerd:") and is_alive(procs[k])]
        stop_pids([r.pid for r in engines_recs], timeout=20.0)
        killed = sum(engines.kill_host_leftovers(h) for h in layout.hosts)
        stop(procs.get("registry"), timeout=5.0)
        stop(procs.get("upstream-dns"), timeout=5.0)
        stop_pids(pids_mentioning(sd), timeout=5.0)
        netns.unmount_all(sd)
        _remove_network(layout, st)
        for sub in ["server", "registry", "image", *[h.name for h in layout.hosts]]:
            shutil.rmtree(sd / sub, ignore_errors=True)
        for d in [*server_dirs[1:], *etcd_dirs]:
            shutil.rmtree(d, ignore_errors=True)
        (sd / "state.json").unlink(missing_ok=True)
    extra = f", {killed} leftover processes killed" if killed else ""
    progress(f"testbed down ({time.monotonic() - t0:.1f}s{extra})")


def _is_server_key(key: str) -> bool:
    return key == "server" or key.startswith("server:")


def _remove_network(layout: Layout, st: TestbedState | None) -> None:
    rules = list(st.iptables) if st else []
    rules.append(IptablesRule(None, "filter", "FORWARD", tuple(netns.forward_rule(layout.bridge))))
    for r in rules:
        if r.netns is None:
            netns.iptables_remove(None, r.table, r.chain, r.rule)
    for d in st.root_routes if st else []:
        netns.remove_route(None, Route(d["dest"], d["via"], d["device"]))
    names = set(st.netns if st else []) | set(netns.list_netns(f"{NAME_PREFIX}h"))
    for n in sorted(names):
        netns.remove_netns(n)
    links = set(st.links if st else []) | set(netns.list_links(f"{NAME_PREFIX}v"))
    for ln in sorted(links):
        netns.remove_link(ln)
    netns.remove_link(st.bridge if st and st.bridge else layout.bridge)


# --- status and failure helpers -----------------------------------------------------------


def status(*, state_dir: Path | None = None) -> TestbedStatus | None:
    """The testbed's status, or None if there is no testbed in the state dir."""
    sd = resolve_state_dir(state_dir)
    st = load(sd / "state.json")
    return None if st is None else build_status(_plan_of(st, sd), st)


def _plan_of(st: TestbedState, sd: Path) -> Layout:
    """The layout a recorded state was made with (older state files: one server)."""
    return plan(st.nodes, sd, etcd_members=st.etcd_members, servers=st.servers,
                segments=st.segments)


def _loaded(state_dir: Path | None) -> tuple[Layout, TestbedState]:
    sd = resolve_state_dir(state_dir)
    st = load(sd / "state.json")
    if st is None:
        raise TestbedError(f"no testbed in {sd}; run up first")
    return _plan_of(st, sd), st


def host_docker_url(host: int | str, *, state_dir: Path | None = None) -> str:
    """``unix://…/hN/docker.sock`` of a host (1-based index or name "h2")."""
    sd = resolve_state_dir(state_dir)
    st = load(sd / "state.json")
    return plan(st.nodes if st else MAX_NODES, sd).host(host).docker_url


def kill_agent(
    host: int | str, *, sig: int = signal.SIGKILL, state_dir: Path | None = None
) -> int | None:
    """Kill one host's agent (SIGKILL by default, like a crash); returns its pid."""
    layout, st = _loaded(state_dir)
    h = layout.host(host)
    rec = st.processes.get(f"agent:{h.name}")
    if rec is None or not is_alive(rec):
        return None
    signal_pid(rec.pid, sig)
    wait_until(lambda: not is_alive(rec), 10.0, 0.05)
    return rec.pid


def kill_server(
    index: int = 0, *, sig: int = signal.SIGKILL, state_dir: Path | None = None
) -> int | None:
    """Kill one control-plane replica (0-based; the first, the only one without HA, by
    default) with SIGKILL by default, like a crash; returns its pid, or None if it was not
    running. `up` starts it again."""
    layout, st = _loaded(state_dir)
    if not 0 <= index < len(layout.servers):
        raise TestbedError(f"no server {index}: the testbed has {len(layout.servers)}")
    return _kill(st.processes.get(layout.servers[index].key), sig)


def kill_etcd_member(
    index: int, *, sig: int = signal.SIGKILL, state_dir: Path | None = None
) -> int | None:
    """Kill one external etcd member (0-based) with SIGKILL by default; returns its pid, or
    None if it was not running. `up` restarts it on its data (rejoining the cluster)."""
    layout, st = _loaded(state_dir)
    if not 0 <= index < len(layout.etcd_members):
        raise TestbedError(
            f"no etcd member {index}: the testbed has {len(layout.etcd_members)} external members"
        )
    return _kill(st.processes.get(layout.etcd_members[index].key), sig)


def _kill(rec: ProcRecord | None, sig: int) -> int | None:
    if rec is None or not is_alive(rec):
        return None
    signal_pid(rec.pid, sig)
    wait_until(lambda: not is_alive(rec), 15.0, 0.05)
    return rec.pid


def leader(*, state_dir: Path | None = None) -> str | None:
    """The replica name in etcd key /dockyard/cluster/leader (`sN`), read through the
    external etcd's JSON gateway from the first member that answers. None: no leader now,
    or no member answered, or no external etcd (the single server's embedded etcd admits
    only the server itself)."""
    layout, _st = _loaded(state_dir)
    if not layout.etcd_members:
        return None
    opener = services.etcd_opener(layout)
    for url in layout.etcd_urls:
        try:
            value = services.etcd_get(opener, url, LEADER_KEY)
        except (OSError, ValueError):
            continue  # down, or no quorum: try the next member
        return value.decode() if value is not None else None
    return None


def start_agent(host: int | str, *, state_dir: Path | None = None) -> int:
    """(Re)start only this host's agent if it is not running; returns its pid."""
    layout, st = _loaded(state_dir)
    h: HostPlan = layout.host(host)
    with locked(layout.lock_file):
        st = load(layout.state_file) or st
        key = f"agent:{h.name}"
        _ensure_proc(st, key, lambda: services.start_agent(layout, h, st), lambda _m: None)
        save(layout.state_file, st)
        return st.processes[key].pid


def cut_link(host: int | str, *, state_dir: Path | None = None) -> None:
    """Partition a host: set its veth (root side) down."""
    layout, _st = _loaded(state_dir)
    netns.set_link(layout.host(host).veth, up=False)


def restore_link(host: int | str, *, state_dir: Path | None = None) -> None:
    """Heal a partition made by ``cut_link``."""
    layout, _st = _loaded(state_dir)
    netns.set_link(layout.host(host).veth, up=True)
