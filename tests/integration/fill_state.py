"""Fill a real cluster with a given amount of state, as a separate process.

Apps go through the Control API (the Compose loader, then `Apply` with the admin
credential), each with one config of CONFIG_BYTES, until they hold the amount asked for;
then EVENT_BYTES of events are written straight into etcd in the form the server writes
them, as many applies would leave them. (The services do not mount the config: the
assignments of every app's task to the test's one node would exceed what one session
message carries, which is the dispatcher's matter, not the store's.)

Run as `python -m tests.integration.fill_state SERVER CREDENTIALS ETCD_URL DATA_DIR
MEGABYTES`; prints the bytes written. A separate process keeps gRPC out of the
test process, which forks servers.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from dockyard.client.compose import load_app
from dockyard.client.control import control_stub
from dockyard.controlplane.events import event_entry
from dockyard.controlplane.store.etcd import Commit, EtcdStore
from dockyard.v1 import control_pb2
from tests.integration.harness import embedded_etcd_tls

CONFIG_BYTES = 220 * 1024  # its lines make it 242 KiB: under the 500 KiB a config may hold
EVENT_BYTES = 3_000_000
EVENTS_PER_TXN = 100


def compose(app: str) -> str:
    return (f"name: {app}\nservices:\n  web:\n    image: 127.0.0.1:5000/busybox:latest\n"
            f"configs:\n  site:\n    file: ./site.conf\n")


def apply_apps(server: str, credentials: Path, count: int) -> int:
    stub = control_stub(server, credentials)
    written = 0
    for i in range(count):
        content = (f"# app {i}\n" + "x" * 79 + "\n") * (CONFIG_BYTES // 80)
        loaded = load_app(compose(f"big{i:03d}"), read_file=lambda _p, c=content: c.encode(),
                          default_name="x")
        stub.Apply(control_pb2.ApplyRequest(spec=loaded.spec), timeout=30)
        written += loaded.spec.ByteSize()
    return written


async def write_events(etcd_url: str, data_dir: Path, total: int, apps: int) -> int:
    store = EtcdStore([etcd_url], tls=embedded_etcd_tls(data_dir))
    await store.connect()
    written = n = 0
    try:
        while written < total:
            commit = Commit()
            for _ in range(EVENTS_PER_TXN):
                key, value = event_entry(app=f"big{n % apps:03d}", kind="service",
                                         obj="web", message="web updated: " + "y" * 400,
                                         now_ms=1_700_000_000_000 + n)
                commit.puts[key] = value
                written += len(key) + len(value)
                n += 1
            await store.commit(commit)
    finally:
        await store.close()
    return written


def main(argv: list[str]) -> int:
    server, credentials, etcd_url, data_dir, megabytes = argv
    total = int(float(megabytes) * 1_000_000)
    apps = total // CONFIG_BYTES + 1
    written = apply_apps(server, Path(credentials), apps)
    written += asyncio.run(write_events(etcd_url, Path(data_dir), EVENT_BYTES, apps))
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
