"""Read a server's embedded etcd the way the server does (gRPC, its client certificate),
in a process of its own: the test process forks servers, and forking while gRPC threads
run is unsafe. (etcd's JSON gateway refuses requests that carry a client certificate
once authentication is on.)

`python -m tests.integration.etcd_read DATA_DIR PORT KEY...` prints one JSON list: for
each KEY ending in "/", how many keys start with it; for any other KEY, its value as
text, or null; `@revision` gives etcd's current revision. KEY=FILE puts the file's
bytes at KEY; KEY>FILE writes KEY's value to FILE; !KEY deletes KEY.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dockyard.controlplane.embedded_etcd import client_tls
from dockyard.controlplane.store.etcd import Commit, EtcdStore


async def read(data_dir: Path, port: int, wanted: list[str]) -> list[Any]:
    store = EtcdStore([f"https://127.0.0.1:{port}"], tls=client_tls(data_dir))
    await store.connect(wait_s=5.0)
    try:
        out: list[Any] = []
        for key in wanted:
            if key == "@revision":
                out.append((await store.get_prefix("/dockyard/cluster/ping"))[1])
            elif "=" in key:
                name, _, path = key.partition("=")
                await store.put(name, Path(path).read_bytes())
                out.append(None)
            elif ">" in key:
                name, _, path = key.partition(">")
                entry = await store.get(name)
                Path(path).write_bytes(entry.value if entry is not None else b"")
                out.append(None)
            elif key.startswith("!"):
                await store.commit(Commit(deletes=[key[1:]]))
                out.append(None)
            elif key.endswith("/"):
                out.append(len((await store.get_prefix(key))[0]))
            else:
                entry = await store.get(key)
                out.append(None if entry is None else entry.value.decode(errors="replace"))
        return out
    finally:
        await store.close()


def embedded_read(data_dir: Path, port: int, *wanted: str) -> list[Any]:
    """`read` in a child process; RuntimeError (one line) if etcd does not answer."""
    out = subprocess.run([sys.executable, "-m", "tests.integration.etcd_read", str(data_dir),
                          str(port), *wanted], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or ["etcd read failed"])[-1])
    result: list[Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(read(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))))
