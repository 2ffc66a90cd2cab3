"""Hollow nodes: many real agents in one process, each over an in-memory runtime.

A hollow node is the real agent minus Docker: the real `Session` (join with the token,
node certificate, heartbeats, the session stream, status batching, certificate renewal)
and the real `Runner`, driving `agent.runtime.fake.FakeDriver` instead of an engine. One
process holds many of them on one event loop, so a laptop can stand in for hundreds of
hosts against a real `dockyard server` and a real etcd. Only the containers are
imaginary: they "run" the moment they are started.

Run as ``python -m deploy.bench.scale_hollow --join ADDR --token-file F --prefix P
--count N``; SIGTERM or SIGINT stops every agent of the process (their containers vanish
with it, as a host's would when it dies).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.agent.runner import Runner
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.agent.session import JoinRefused, Session, StatusBatch
from dockyard.v1 import objects_pb2, specs_pb2

log = logging.getLogger("dockyard.hollow")

EXIT_MARK = "agent exited:"
NODE_CPUS = 16.0
NODE_MEMORY = 64 * 1024**3


def node_names(prefix: str, first: int, count: int) -> list[str]:
    """The names of one process's hollow nodes. Pure."""
    return [f"{prefix}{i:04d}" for i in range(first, first + count)]


@dataclass
class HollowNode:
    """One agent: a session and a runner over an in-memory runtime."""

    name: str
    driver: FakeDriver
    runner: Runner
    join: list[str]
    token: str
    description: objects_pb2.NodeDescription
    batch: StatusBatch
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def new_session(self) -> Session:
        return Session(addresses=self.join, token=self.token, description=self.description,
                       runner=self.runner, batch=self.batch)

    @classmethod
    def make(cls, *, name: str, join: list[str], token: str, state_dir: Path,
             labels: dict[str, str], start_delay_s: float = 0.0) -> HollowNode:
        def later(delay: float, fire: Callable[[], None]) -> object:
            return asyncio.get_running_loop().call_later(delay, fire)

        driver = FakeDriver(start_delay_s=start_delay_s, schedule=later, cpus=NODE_CPUS,
                            memory_bytes=NODE_MEMORY)
        rt = driver.describe()
        desc = objects_pb2.NodeDescription(
            name=name, address="127.0.0.1",
            capacity=specs_pb2.Resources(cpu_millis=int(rt.cpus * 1000),
                                         memory_bytes=rt.memory_bytes),
            labels=labels, engine_version=f"{rt.name} {rt.version}")
        batch = StatusBatch()
        runner = Runner(driver=driver, node=name, state_dir=state_dir / name, report=batch.add)
        return cls(name=name, driver=driver, runner=runner, join=join, token=token,
                   description=desc, batch=batch)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.runner.run(), name=f"{self.name}-runner"),
                      asyncio.create_task(self._supervised(), name=f"{self.name}-session")]

    async def _supervised(self) -> None:
        """The session, restarted a second after it ends, as systemd restarts the agent
        (deploy/systemd: Restart=always, RestartSec=1). Each exit is logged with
        EXIT_MARK so the benchmark can count them. A refused join is final."""
        for _ in range(100_000):
            try:
                await self.new_session().run_forever()
                why = "the session returned"
            except JoinRefused:
                raise
            except Exception as exc:  # what would make a real agent process exit
                why = f"{type(exc).__name__}: {exc}"
            log.error("%s %s: %s; restarting in 1s", EXIT_MARK, self.name, why)
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def run_hollow(nodes: list[HollowNode], stop: asyncio.Event) -> int:
    """Run every node until `stop`; a refused join ends the process with an error."""
    for n in nodes:
        n.start()
    waiters = [t for n in nodes for t in n.tasks]
    stopper = asyncio.create_task(stop.wait())
    pending = {stopper, *waiters}
    code = 0
    while pending and not stop.is_set():
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is stopper or t.cancelled():
                continue
            exc = t.exception()
            if isinstance(exc, JoinRefused):
                log.error("%s: %s", t.get_name(), exc)
                code = 1
                stop.set()
            elif exc is not None:
                log.error("%s ended: %s", t.get_name(), exc)
    stopper.cancel()
    await asyncio.gather(*(n.stop() for n in nodes), return_exceptions=True)
    return code


async def _main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    # Joins run TLS probes in threads: enough of them that a process's nodes join together.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="hollow"))
    token = Path(args.token_file).read_text().strip()
    labels = dict(kv.split("=", 1) for kv in args.labels.split(",") if "=" in kv)
    nodes = [HollowNode.make(name=name, join=args.join.split(","), token=token,
                             state_dir=Path(args.state_dir), labels=labels,
                             start_delay_s=args.start_delay)
             for name in node_names(args.prefix, args.first, args.count)]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("starting %d hollow nodes (%s...)", len(nodes), nodes[0].name if nodes else "")
    return await run_hollow(nodes, stop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.bench.scale_hollow",
                                description="run many hollow agents in this process")
    p.add_argument("--join", required=True, help="control plane HOST:PORT[,HOST:PORT...]")
    p.add_argument("--token-file", required=True, help="file holding the join token")
    p.add_argument("--prefix", default="hollow-", help="node name prefix")
    p.add_argument("--first", type=int, default=0, help="number of the first node")
    p.add_argument("--count", type=int, required=True, help="how many nodes")
    p.add_argument("--labels", default="hollow=true", help="k=v,k=v labels of every node")
    p.add_argument("--state-dir", required=True, help="where delivered files are written")
    p.add_argument("--start-delay", type=float, default=0.0,
                   help="seconds a started container takes to run (default 0)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("dockyard.agent").setLevel(logging.WARNING)
    try:
        return asyncio.run(_main(args))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
