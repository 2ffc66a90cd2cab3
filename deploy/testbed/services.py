"""Root-namespace and per-host services of the testbed: the registry, the external etcd
members (if any), the Dockyard control-plane replicas and one Dockyard agent per host.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path

from dockyard.controlplane.security.sealed import create_kek

from .images import registry_config
from .layout import (
    REGISTRY_NAME,
    EtcdPlan,
    HostPlan,
    Layout,
    ServerPlan,
    agent_argv,
    etcd_argv,
    host_labels,
    server_argv,
)
from .processes import ProcRecord, clean_env, start
from .state import TestbedState

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


def start_upstream_dns(layout: Layout) -> ProcRecord:
    """The testbed's upstream DNS server (root namespace, on the bridge)."""
    env = clean_env()
    env["PYTHONPATH"] = _pythonpath()
    registry_ip = layout.registry_addr.rpartition(":")[0]
    return start(
        [sys.executable, "-m", "dockyard.deploy.testbed.upstream_dns",
         "--listen", layout.upstream_dns, f"{REGISTRY_NAME}={registry_ip}"],
        layout.upstream_dns_log, env=env, cwd=layout.state_dir,
    )


def start_server(layout: Layout, srv: ServerPlan | None = None) -> ProcRecord:
    srv = srv or layout.servers[0]
    srv.dir.mkdir(parents=True, exist_ok=True)
    env = clean_env(drop=["DOCKYARD_JOIN_TOKEN"])
    env["PYTHONPATH"] = _pythonpath()
    return start(server_argv(layout, srv), srv.log, env=env, cwd=srv.dir)


def start_etcd(layout: Layout, m: EtcdPlan) -> ProcRecord:
    """Start one member; ``existing`` (rejoin) when its data dir holds a member already."""
    m.dir.mkdir(parents=True, exist_ok=True)
    layout.etcd_tls.ensure([e.name for e in layout.etcd_members])
    create_kek(layout.kek_file)  # made once, before any replica: they all share it
    existing = (m.data_dir / "member").is_dir()
    return start(etcd_argv(layout, m, existing=existing), m.log, cwd=m.dir)


def etcd_opener(layout: Layout) -> urllib.request.OpenerDirector:
    """Direct (no proxy) HTTPS to the external etcd members, with the client certificate."""
    files = layout.etcd_tls
    context = ssl.create_default_context(cafile=str(files.ca))
    context.load_cert_chain(str(files.cert), str(files.key))
    return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                       urllib.request.HTTPSHandler(context=context))


def etcd_healthy(opener: urllib.request.OpenerDirector, url: str,
                 timeout_s: float = 1.0) -> bool:
    """The member at ``url`` answers /health and sees a leader."""
    try:
        with opener.open(f"{url}/health", timeout=timeout_s) as r:
            return bool(json.loads(r.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def etcd_get(opener: urllib.request.OpenerDirector, url: str, key: str,
             timeout_s: float = 2.0) -> bytes | None:
    """One key through etcd's JSON gateway (no etcdctl here); None: no such key.
    OSError or ValueError when the member is down or has no quorum."""
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(
        f"{url}/v3/kv/range", data=body, headers={"Content-Type": "application/json"}
    )
    with opener.open(req, timeout=timeout_s) as r:
        kvs = json.loads(r.read()).get("kvs") or []
    return base64.b64decode(kvs[0].get("value", "")) if kvs else None


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
        token_file=layout.join_token_file,
        cpus=st.node_cpus or default_cpus(),
        memory=st.node_memory or default_memory(),
        labels=host_labels(tuple(st.labels), h.name),
    )
    env = clean_env(drop=["DOCKYARD_JOIN_TOKEN"])
    env["PYTHONPATH"] = _pythonpath()
    return start(argv, h.agent_log, netns=h.netns_path, env=env, cwd=h.dir)


def _pythonpath() -> str:
    """Make ``python -m dockyard.cli`` find the repository this package lives in."""
    repo = str(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proto = os.path.join(repo, "proto")
    parts = [repo, proto, *[p for p in os.environ.get("PYTHONPATH", "").split(":") if p]]
    return ":".join(dict.fromkeys(parts))
