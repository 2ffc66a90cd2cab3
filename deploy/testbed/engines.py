"""One Docker Engine per testbed host: start it in the host's netns, stock (no --bip, no
routes, no rules of ours: the Dockyard agent builds the container network), and clean up
everything it left behind (containerd, shims, containers, mounts) even after a kill -9.
"""

from __future__ import annotations

import os
from pathlib import Path

from .layout import HostPlan, Layout, dockerd_argv
from .processes import (
    ProcRecord,
    children_of,
    clean_env,
    cmdline,
    kill_pids,
    pid_alive,
    pids_in_cgroups_named,
    pids_in_netns,
    pids_mentioning,
    start,
    stop_pids,
)


def stale_daemons(h: HostPlan) -> list[int]:
    """A dead dockerd's containerd (or a stray dockerd) still using the host's dirs."""
    return [
        p
        for p in pids_mentioning(h.dir)
        if os.path.basename((cmdline(p) or [""])[0]) in ("dockerd", "containerd")
    ]


def remove_stale_pidfile(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip() or "0")
    except (OSError, ValueError):
        pid = 0
    if pidfile.exists() and (pid <= 0 or not pid_alive(pid)):
        pidfile.unlink(missing_ok=True)


def start_dockerd(layout: Layout, h: HostPlan) -> ProcRecord:
    """Start the host's dockerd (inside its netns); it starts its own containerd.

    A containerd left by a killed dockerd may still hold its database lock, and the new
    dockerd would time out waiting for its own containerd: stop such leftovers first.
    """
    stop_pids(stale_daemons(h), timeout=10.0)
    # Without live-restore a new dockerd stops the old containers anyway, waiting 10 s
    # for each one that ignores SIGTERM: kill them now instead.
    kill_containers(h)
    # This machine's pid 1 does not reap orphans: a killed daemon may linger as a zombie,
    # and dockerd would take its pidfile for a live process. Drop pidfiles of the dead.
    for pidfile in (h.docker_pidfile, h.exec_root / "containerd" / "containerd.pid"):
        remove_stale_pidfile(pidfile)
    for d in (h.dir, h.data_root, h.exec_root):
        d.mkdir(parents=True, exist_ok=True)
    return start(
        dockerd_argv(h, layout.registry_addr),
        h.dockerd_log,
        netns=h.netns_path,
        env=clean_env({"DOCKER_BUILDKIT": "0"}),
    )


def host_leftovers(h: HostPlan) -> list[int]:
    """Pids that belong to a host: anything naming its state dir (dockerd, containerd,
    containerd shims) and anything running in its netns (agent, docker-proxy)."""
    pids = set(pids_mentioning(h.dir))
    if h.netns_path.exists():
        pids.update(pids_in_netns(h.netns_path))
    return sorted(pids)


def container_pids(h: HostPlan) -> list[int]:
    """The host's container processes: children of its containerd shims, and any process
    in the cgroup of one of its containers (found even when the shim was killed)."""
    shims = [p for p in pids_mentioning(h.dir) if "containerd-shim" in (cmdline(p) or [""])[0]]
    pids = set(children_of(shims))
    try:
        ids = [d.name for d in (h.data_root / "containers").iterdir() if len(d.name) == 64]
    except OSError:
        ids = []
    if ids:
        pids.update(pids_in_cgroups_named(ids))
    return sorted(pids)


def kill_containers(h: HostPlan) -> int:
    """SIGKILL the host's container processes (killing a container's pid 1 ends its
    whole pid namespace). Returns how many."""
    pids = container_pids(h)
    kill_pids(pids)
    return len(pids)


def kill_host_leftovers(h: HostPlan) -> int:
    """SIGKILL what is left of a host (containers first); returns how many."""
    n = kill_containers(h)
    pids = host_leftovers(h)
    kill_pids(pids)
    return n + len(pids)
