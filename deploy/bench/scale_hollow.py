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

With ``--group FIRST:COUNT:LOG`` (repeated) and ``--pids-file F`` instead of ``--count``,
the process imports once and forks one process per group, each in its own session and
writing to its own log, then writes their pids to F and exits. Ten processes starting
side by side each spent about 0.25 CPU seconds importing before their first node could
join: on two cores, over a second of a mass join went to imports alone, which real
hosts, each on its own CPUs, pay side by side. A child imports nothing more before
its nodes start, and is then an ordinary hollow process (kill it to lose its hosts).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.agent.runner import Runner
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.agent.session import JoinRefused, Session, StatusBatch
from dockyard.common import gcpace
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


def parse_group(raw: str) -> tuple[int, int, str]:
    """``FIRST:COUNT:LOG`` as (first, count, log path). Pure."""
    parts = raw.split(":", 2)
    numbers = parts[:2]
    if (len(parts) == 3 and parts[2] and all(n.isdigit() for n in numbers)
            and int(numbers[1]) >= 1):
        return int(numbers[0]), int(numbers[1]), parts[2]
    raise ValueError(f"bad --group {raw!r}: FIRST:COUNT:LOG, with COUNT at least 1")


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("dockyard.agent").setLevel(logging.WARNING)
    try:
        return asyncio.run(_main(args))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _child(args: argparse.Namespace, first: int, count: int, log_path: str) -> None:
    """In a forked child: its own session and log, then this group's nodes; never
    returns (os._exit, so nothing of the parent's runs twice)."""
    code = 1
    try:
        os.setsid()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        print(f"\n=== {time.strftime('%F %T')} start: forked hollow process, nodes "
              f"{args.prefix}{first:04d} and {count - 1} more", flush=True)
        args.first, args.count = first, count
        code = _run(args)
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def fork_groups(args: argparse.Namespace, groups: list[tuple[int, int, str]]) -> int:
    """One forked process per group; their pids, one a line, to --pids-file."""
    sys.stdout.flush()
    sys.stderr.flush()
    pids = []
    for first, count, log_path in groups:
        pid = os.fork()
        if pid == 0:
            _child(args, first, count, log_path)
        pids.append(pid)
    tmp = f"{args.pids_file}.tmp"
    with open(tmp, "w") as f:
        f.write("".join(f"{pid}\n" for pid in pids))
    os.replace(tmp, args.pids_file)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.bench.scale_hollow",
                                description="run many hollow agents in this process")
    p.add_argument("--join", required=True, help="control plane HOST:PORT[,HOST:PORT...]")
    p.add_argument("--token-file", required=True, help="file holding the join token")
    p.add_argument("--prefix", default="hollow-", help="node name prefix")
    p.add_argument("--first", type=int, default=0, help="number of the first node")
    p.add_argument("--count", type=int, help="how many nodes")
    p.add_argument("--group", action="append", default=[], metavar="FIRST:COUNT:LOG",
                   help="fork a process for these nodes, logging to LOG (repeatable)")
    p.add_argument("--pids-file", help="with --group: where the forked pids are written")
    p.add_argument("--labels", default="hollow=true", help="k=v,k=v labels of every node")
    p.add_argument("--state-dir", required=True, help="where delivered files are written")
    p.add_argument("--start-delay", type=float, default=0.0,
                   help="seconds a started container takes to run (default 0)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    gcpace.settle()  # once, before the forks: the children share what it froze
    if args.group:
        if not args.pids_file or args.count is not None:
            p.error("--group needs --pids-file, and no --count")
        try:
            groups = [parse_group(g) for g in args.group]
        except ValueError as exc:
            p.error(str(exc))
        return fork_groups(args, groups)
    if args.count is None:
        p.error("--count or --group is required")
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
