"""Root-namespace and per-host services of the testbed: the registry, the Dockyard
control-plane server and one Dockyard agent per host.
"""

from __future__ import annotations

import os
from pathlib import Path

from .images import registry_config
from .layout import HostPlan, Layout, agent_argv, host_labels, server_argv
from .processes import ProcRecord, clean_env, start
from .state import TestbedState

DEFAULT_TOKEN = "testbed"
TOKEN_WAIT_S = 20.0


def start_registry(layout: Layout) -> ProcRecord:
    storage = layout.registry_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    layout.registry_config.write_text(registry_config(layout.registry_addr, storage))
    return start(
        ["docker-registry", "serve", str(layout.registry_config)],
        layout.registry_log,
        cwd=layout.registry_dir,
    )


def start_server(layout: Layout) -> ProcRecord:
    layout.server_dir.mkdir(parents=True, exist_ok=True)
    env = clean_env(drop=["DOCKYARD_JOIN_TOKEN"])
    env["PYTHONPATH"] = _pythonpath()
    return start(server_argv(layout), layout.server_log, env=env, cwd=layout.server_dir)


def read_token(layout: Layout) -> str | None:
    try:
        tok = layout.join_token_file.read_text().strip()
    except OSError:
        return None
    return tok or None


def default_cpus() -> str:
    return str(os.cpu_count() or 1)


def default_memory() -> str:
    """The machine's memory in MiB, Compose style (``24105m``)."""
    try:
        for ln in Path("/proc/meminfo").read_text().splitlines():
            if ln.startswith("MemTotal:"):
                return f"{int(ln.split()[1]) // 1024}m"
    except OSError:
        pass
    return "1024m"


def start_agent(layout: Layout, h: HostPlan, st: TestbedState) -> ProcRecord:
    h.dir.mkdir(parents=True, exist_ok=True)
    argv = agent_argv(
        layout,
        h,
        token=st.token or DEFAULT_TOKEN,
        cpus=st.node_cpus or default_cpus(),
        memory=st.node_memory or default_memory(),
        labels=host_labels(tuple(st.labels), h.name),
    )
    env = clean_env(drop=["DOCKYARD_JOIN_TOKEN"])
    env["PYTHONPATH"] = _pythonpath()
    return start(argv, h.agent_log, netns=h.netns_path, env=env, cwd=h.dir)


def _pythonpath() -> str:
    """Make ``python -m controlplane`` find the repository this package lives in."""
    repo = str(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proto = os.path.join(repo, "proto")
    parts = [repo, proto, *[p for p in os.environ.get("PYTHONPATH", "").split(":") if p]]
    return ":".join(dict.fromkeys(parts))
