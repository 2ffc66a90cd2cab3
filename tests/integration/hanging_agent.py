"""An agent whose runtime hangs, for tests/integration/test_agent_stop.py: the real
Runner and Session and the agent's real stop (agent/cli.py `live_until_stopped`), over
the in-memory runtime made to block as Docker's does (its calls go to worker threads),
whose change feed (`watch`) never returns: a worker thread stuck in the engine, which
asyncio's own teardown would wait for without end.

Run: python -m tests.integration.hanging_agent ADDRESS TOKEN NAME STATE_DIR
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path

from dockyard.agent.cli import live_until_stopped
from dockyard.agent.runner import Runner
from dockyard.agent.runtime.driver import EventHandler
from dockyard.agent.runtime.fake import FakeDriver
from dockyard.agent.session import Session, StatusBatch
from dockyard.v1 import objects_pb2


class HangingDriver(FakeDriver):
    blocking = True  # called in worker threads, as Docker is

    def watch(self, on_change: EventHandler) -> object:
        threading.Event().wait()  # a hung engine: never answers
        raise AssertionError("unreachable")


class NoNetwork:
    async def close(self) -> None:
        return None


async def main(address: str, token: str, name: str, state_dir: Path) -> int:
    batch = StatusBatch()
    runner = Runner(driver=HangingDriver(), node=name, state_dir=state_dir / name,
                    report=batch.add)
    session = Session(addresses=[address], token=token,
                      description=objects_pb2.NodeDescription(name=name), runner=runner,
                      batch=batch)
    return await live_until_stopped(runner, session, net=NoNetwork(), metrics=None)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    address, token, name, state = sys.argv[1:5]
    sys.exit(asyncio.run(main(address, token, name, Path(state))))
