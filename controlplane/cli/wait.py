"""`apply --wait`: live progress, per wave and per service, until every service is up.

A service is up when all its replicas are healthy (or running, with no healthcheck), or
have completed successfully. Only changes are printed, one line each, so the output
reads the same in a terminal and in a CI log; a terminal also gets a bar per service
(controlplane/cli/progress.py).
"""

from __future__ import annotations

import re
import sys
import time

from controlplane.cli.client import CliError, ControlClient, call
from controlplane.cli.progress import wait_report
from controlplane.cli.render import crash_loop, task_state
from dockyard.v1 import control_pb2, objects_pb2


def service_line(svc: objects_pb2.Service, tasks: list[objects_pb2.Task]) -> tuple[str, bool]:
    """A one-line progress summary of a service, and whether it is up. Pure."""
    want = svc.spec.replicas
    done = sum(1 for t in tasks if t.status.state == objects_pb2.COMPLETE
               and t.status.exit_code == 0)
    if want and done >= want:
        return f"{svc.spec.name}: {done}/{want} completed", True
    up = svc.status.healthy >= want
    parts = [f"{svc.status.running}/{want} running", f"{svc.status.healthy}/{want} healthy"]
    if svc.status.waiting_on:
        parts.append(svc.status.waiting_on)
    else:
        states = sorted({task_state(t) for t in tasks} - {"running"})
        if states and not up:
            parts.append("tasks " + ",".join(states))
        errors = {t.status.message for t in tasks if t.status.state == objects_pb2.FAILED}
        errors |= {crash_loop(t.status) for t in tasks if crash_loop(t.status)}
        if errors and not up:
            parts.append("; ".join(sorted(errors))[:160])
    return f"{svc.spec.name}: " + ", ".join(parts), up


def service_done(svc: objects_pb2.Service, tasks: list[objects_pb2.Task]) -> int:
    """How many of a service's replicas are there: healthy, or completed. Pure."""
    done = sum(1 for t in tasks if t.status.state == objects_pb2.COMPLETE
               and t.status.exit_code == 0)
    return max(svc.status.healthy, done)


def wait_for_app(
    stub: ControlClient, address: str, app: str, *, timeout_s: float
) -> int:
    start = time.monotonic()
    deadline = start + timeout_s
    last: dict[str, str] = {}
    waves_shown = False
    lines: list[str] = []
    report = wait_report()
    try:
        while True:
            d = call(address, stub.DescribeApp, control_pb2.GetAppRequest(name=app))
            if not waves_shown:
                for i, w in enumerate(d.waves, 1):
                    report.line(f"wave {i}: {', '.join(w.services)}")
                waves_shown = True
            by_svc: dict[str, list[objects_pb2.Task]] = {}
            for t in d.tasks:
                if t.desired_state in (objects_pb2.DESIRED_READY, objects_pb2.DESIRED_RUNNING):
                    by_svc.setdefault(t.service, []).append(t)
            all_up = True
            lines = []
            for svc in d.services:
                line, up = service_line(svc, by_svc.get(svc.spec.name, []))
                report.service(svc.spec.name, service_done(svc, by_svc.get(svc.spec.name, [])),
                               svc.spec.replicas, line)
                lines.append(line)
                all_up = all_up and up
                key = re.sub(r"\d+ checks failed", "checks failed", line)
                if last.get(svc.spec.name) != key:
                    elapsed = time.monotonic() - start
                    report.line(f"[{elapsed:5.1f}s] {line}")
                    last[svc.spec.name] = key
            if all_up:
                report.close()
                print(f"app {app} is up in {time.monotonic() - start:.1f}s")
                return 0
            if time.monotonic() > deadline:
                pending = "; ".join(ln for ln in lines if "healthy" in ln)
                raise CliError(f"timed out after {timeout_s:g}s waiting for {app}: {pending}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        report.close()
        print(f"stopped waiting; the apply of {app} stands", file=sys.stderr)
        return 130
    finally:
        report.close()
