"""How the control plane answers during a scale-up to the replica limit, and undoes it.

One `dockyard server` (embedded etcd) on loopback, no nodes: an app asks for 10,000
replicas, and while the leader creates their tasks in bounded rounds this samples how
long /healthz and a ListApps take. Then it times a scale to zero and a delete made in
the middle of another scale-up. Needs no testbed. Run: `python -m deploy.bench.scaleup`.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from dockyard.client.control import control_stub
from dockyard.deploy.bench.cluster import summary, write_report
from dockyard.v1 import control_pb2, specs_pb2

REPLICAS = 10_000
SAMPLE_EVERY_S = 0.1
TIMEOUT_S = 300.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def _timed(fn: object, *args: object) -> float:
    started = time.monotonic()
    fn(*args)  # type: ignore[operator]
    return time.monotonic() - started


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="dockyard-scaleup-"))
    grpc_port, http_port = _port(), _port()
    healthz = f"http://127.0.0.1:{http_port}/healthz"
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard.cli", "server", "--data-dir", str(root / "data"),
         "--listen", f"127.0.0.1:{grpc_port}", "--http-listen", f"127.0.0.1:{http_port}",
         "--etcd-port", str(_port()), "--admin-credentials", ""],
        stdout=log, stderr=log)
    try:
        _wait_healthy(healthz, proc)
        stub = control_stub(f"127.0.0.1:{grpc_port}", root / "data" / "admin.pem")
        web = specs_pb2.ServiceSpec(name="web", image="127.0.0.1:5000/busybox:latest",
                                    replicas=REPLICAS)
        spec = specs_pb2.AppSpec(name="huge", services=[web])
        stub.Apply(control_pb2.ApplyRequest(spec=spec), timeout=10)
        started = time.monotonic()
        health, lists = [], []
        count = 0
        while count < REPLICAS and time.monotonic() - started < TIMEOUT_S:
            health.append(_timed(lambda: urllib.request.urlopen(healthz, timeout=5).close()))
            lists.append(_timed(stub.ListApps, control_pb2.ListRequest()))
            count = len(stub.ListTasks(control_pb2.ListRequest(app="huge"), timeout=30).tasks)
            time.sleep(SAMPLE_EVERY_S)
        created_s = time.monotonic() - started
        to_zero = control_pb2.ScaleRequest(app="huge", service="web", replicas=0)
        scale_zero_s = _timed(stub.Scale, to_zero)
        stub.Scale(control_pb2.ScaleRequest(app="huge", service="web", replicas=REPLICAS))
        time.sleep(0.5)
        delete_s = _timed(stub.DeleteApp, control_pb2.DeleteAppRequest(name="huge"))
        report = {
            "replicas": REPLICAS, "tasks_created": count, "create_all_s": round(created_s, 2),
            "healthz_s": summary(health), "list_apps_s": summary(lists),
            "scale_to_zero_s": round(scale_zero_s, 3), "delete_mid_scale_up_s": round(delete_s, 3),
        }
        print(report)
        print(f"written to {write_report('scaleup', report)}")
        return 0 if count == REPLICAS else 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
