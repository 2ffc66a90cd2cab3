"""`dockyard agent`: flags, host facts, and the process's life (start, SIGTERM, exit).

SIGTERM (an upgrade, a restart) stops the agent at once and leaves the containers
running: it tells the control plane it is leaving (`Session.leave`, at most 2 s), so
the node stays ready and the restarted agent re-adopts its containers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dockyard.common.names import node_name_problem
from dockyard.common.spec.errors import SpecError
from dockyard.common.spec.units import parse_size_bytes
from dockyard.v1 import objects_pb2, specs_pb2

if TYPE_CHECKING:
    from dockyard.agent.runner import Runner
    from dockyard.agent.session import Session

# The longest the agent's stop may take before its watchdog ends the process: telling
# the server (its 2 s deadline), then the tasks 5 s, the network hooks 5 s and the
# metrics port 2 s, each with 0.25 s to cancel it, and 2 s to spare.
STOP_LIMIT_S = 2.0 + 5.0 + 5.0 + 2.0 + 3 * 0.25 + 2.0


def parse_memory(text: str) -> int:
    """'8G', '512M', '1.5GiB' or a byte count, to bytes: the Compose loader's own parser,
    so a node's --memory reads exactly as a service's memory limit does."""
    try:
        return parse_size_bytes(text, where="--memory")
    except SpecError as exc:
        raise ValueError(f"bad memory size {text!r} (try 8G or 512M)") from exc


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def guess_address(join: str) -> str:
    """The local address that routes to the control plane (no packet is sent)."""
    host, _, port = join.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, int(port or 7070)))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def add_agent_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--join", default=env("DOCKYARD_JOIN", ""), required=not env("DOCKYARD_JOIN"),
                   help="control plane HOST:PORT[,HOST:PORT...] to dial")
    p.add_argument("--token-file", metavar="FILE", default=env("DOCKYARD_TOKEN_FILE", ""),
                   help="file holding the join token (env DOCKYARD_TOKEN_FILE; or put the "
                        "token itself in DOCKYARD_TOKEN): `dockyard token agent` prints it, "
                        "and the server keeps it in DATA_DIR/join-token. Only needed until the "
                        "node has its certificate (kept in --state-dir)")
    p.add_argument("--token", default="",
                   help="the join token itself; it shows in `ps`, so prefer --token-file or "
                        "DOCKYARD_TOKEN")
    p.add_argument("--name", default=env("DOCKYARD_NODE_NAME", socket.gethostname()),
                   help="node name (default: the hostname)")
    p.add_argument("--labels", default=env("DOCKYARD_LABELS", ""), help="k=v,k=v node labels")
    p.add_argument("--docker", default=env("DOCKER_HOST", "unix:///var/run/docker.sock"),
                   help="Docker Engine URL")
    p.add_argument("--cpus", type=float, help="schedulable CPUs (default: the host's)")
    p.add_argument("--memory", help="schedulable memory, e.g. 8G (default: the host's)")
    p.add_argument("--address", help="address other hosts reach this node at")
    p.add_argument("--container-subnet", default="",
                   help="ask for this container subnet instead of the next free /24 of the "
                        "cluster CIDR (only at the node's first registration)")
    p.add_argument("--network-mode", choices=("auto", "host-gw", "vxlan"),
                   default=env("DOCKYARD_NETWORK_MODE", "auto"),
                   help="how to reach other nodes' containers: a route via the peer on the "
                        "same L2 segment (host-gw), a VXLAN overlay, or per peer (auto)")
    p.add_argument("--dns-upstream", default=env("DOCKYARD_DNS_UPSTREAM", ""),
                   help="IP[:PORT],... for names outside the cluster (default: the host's "
                        "resolv.conf, or systemd-resolved's upstreams)")
    p.add_argument("--state-dir", default=env("DOCKYARD_AGENT_DIR", "/var/lib/dockyard-agent"),
                   help="where the node's certificate is kept")
    p.add_argument("--files-dir", default=env("DOCKYARD_AGENT_FILES", ""),
                   help="tmpfs for delivered secrets and configs, mounted by the agent "
                        "(default: /run/dockyard-agent/NODE); never the host's disk")
    p.add_argument("--no-dns", action="store_true",
                   help="do not serve service names to this node's containers")
    p.add_argument("--http-listen", default=env("DOCKYARD_AGENT_HTTP_LISTEN", "127.0.0.1:7081"),
                   help="HTTP address for this agent's /metrics (default 127.0.0.1:7081; "
                        "empty: none)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")


def join_token(args: Any, env: dict[str, str] | None = None) -> str:
    """The join token from --token-file, else DOCKYARD_TOKEN, else --token; "" if none.
    One-line ValueError when the file cannot be read."""
    source = dict(os.environ) if env is None else env
    if args.token_file:
        try:
            text = Path(args.token_file).read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the join token file {args.token_file}: "
                             f"{exc.strerror or exc}") from None
        token = text.strip()
        if not token:
            raise ValueError(f"the join token file {args.token_file} is empty")
        return token
    return source.get("DOCKYARD_TOKEN", "").strip() or str(args.token).strip()


def _labels(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ValueError(f"bad label {item!r} (want key=value)")
        out[k] = v
    return out


def describe_node(args: Any, *, engine_version: str,
                  architecture: str = "") -> objects_pb2.NodeDescription:
    cpus = args.cpus if args.cpus else float(os.cpu_count() or 1)
    memory = parse_memory(args.memory) if args.memory else host_memory()
    first_join = args.join.split(",")[0]
    return objects_pb2.NodeDescription(
        name=args.name,
        address=args.address or guess_address(first_join),
        capacity=specs_pb2.Resources(cpu_millis=int(cpus * 1000), memory_bytes=memory),
        labels=_labels(args.labels),
        engine_version=engine_version,
        container_subnet=args.container_subnet,
        architecture=architecture,
    )


async def _main(args: Any) -> int:
    problem = node_name_problem(args.name)
    if problem:
        raise ValueError(f"--name: {problem}")
    token = join_token(args)
    if args.token:
        logging.getLogger("dockyard.agent").warning(
            "--token shows the join token to every user of this host (ps); "
            "use --token-file or DOCKYARD_TOKEN")
    from dockyard.agent.dns import host_upstreams, parse_upstreams
    from dockyard.agent.files import TmpfsFiles
    from dockyard.agent.network.hooks import NetworkHooks
    from dockyard.agent.network.plan import Mode
    from dockyard.agent.runner import Runner
    from dockyard.agent.runtime.docker.driver import DockerDriver
    from dockyard.agent.session import Session, StatusBatch

    upstreams = parse_upstreams(args.dns_upstream) if args.dns_upstream else host_upstreams()
    driver = await asyncio.to_thread(DockerDriver, args.docker)
    runtime = await asyncio.to_thread(driver.describe)
    desc = describe_node(args, engine_version=runtime.version,
                         architecture=runtime.architecture)
    batch = StatusBatch()
    files = TmpfsFiles(Path(args.files_dir or f"/run/dockyard-agent/{desc.name}"))
    await asyncio.to_thread(files.prepare)
    runner = Runner(driver=driver, node=desc.name, state_dir=Path(args.state_dir) / desc.name,
                    report=batch.add, files=files)
    await runner.adopt()
    net = NetworkHooks(runner=runner, docker_url=args.docker, address=desc.address,
                       mode=Mode(args.network_mode), upstreams=upstreams, dns=not args.no_dns)
    session = Session(addresses=args.join.split(","), token=token, description=desc,
                      runner=runner, batch=batch,
                      identity_file=Path(args.state_dir) / "identity" / f"{desc.name}.pem",
                      on_register=net.on_register, on_peers=net.on_peers,
                      on_network=net.on_network)
    from dockyard.agent.metrics import serve_metrics

    metrics = await serve_metrics(args.http_listen)
    return await live_until_stopped(runner, session, net=net, metrics=metrics)


class Closes(Protocol):
    """A part of the agent with an end of its own (the node network's hooks)."""

    async def close(self) -> None: ...


class CleansUp(Protocol):
    """The metrics port (aiohttp's AppRunner)."""

    async def cleanup(self) -> None: ...


async def live_until_stopped(runner: Runner, session: Session, *, net: Closes,
                             metrics: CleansUp | None) -> int:
    """Run the runner and the session until SIGTERM or SIGINT (or the session ends:
    a refused join, raised), then stop in bounded steps; 0 once stopped. From the
    moment the stop begins, a watchdog ends the process if it is still here after
    STOP_LIMIT_S, whatever holds it (a worker thread in a hung container engine)."""
    from dockyard.agent.session import JoinRefused
    from dockyard.common.bounded import Watchdog, bounded

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(session.run_forever())]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    agent_log = logging.getLogger("dockyard.agent")
    # Past its steps' bounds, asyncio's own teardown would still wait for a worker thread
    # stuck in a hung container engine: the watchdog ends the process then.
    Watchdog(STOP_LIMIT_S, agent_log).arm()
    if stopper in done:
        # An upgrade or a restart: the server keeps the node ready while the agent is away.
        kept = await session.leave()  # bounded by its own call deadline
        if kept:
            agent_log.info("told the control plane; the node stays ready for %gs", kept)
    for t in [stopper, *tasks]:
        t.cancel()
    # Each step of the stop is bounded (common/bounded.py): at most 5 + 5 + 2 s, each
    # and a quarter second to cancel it (STOP_LIMIT_S).
    await bounded("tasks", asyncio.gather(stopper, *tasks, return_exceptions=True), 5.0,
                  log=agent_log)
    for t in done:
        if t is not stopper and not t.cancelled() and isinstance(t.exception(), JoinRefused):
            raise t.exception()  # type: ignore[misc]
    await bounded("network", net.close(), 5.0, log=agent_log)
    if metrics is not None:
        await bounded("metrics", metrics.cleanup(), 2.0, log=agent_log)
    agent_log.info("stopped; containers keep running")
    return 0


def run_agent(args: Any) -> int:
    from dockyard.agent.files import FilesError
    from dockyard.agent.runtime.driver import DriverError
    from dockyard.agent.session import JoinRefused
    from dockyard.common import gcpace

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    gcpace.settle()
    try:
        return asyncio.run(_main(args))
    except (JoinRefused, DriverError, FilesError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
