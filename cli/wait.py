"""`apply --wait`: live progress, per wave and per service, until every service is up.

A service is up when all its replicas run the service's current spec version (the
task's spec hash is the service's) and are healthy (or running, with no healthcheck),
or have completed successfully, and no task of an earlier version is left. Counting
only new-version tasks is what keeps `--wait` from returning while a rolling update
still replaces tasks. When a new task will not get ready while the old ones still serve,
the update has failed: the wait ends with why, rather than at its timeout.

The control plane judges the update itself (`controlplane/reconcile/updates.py`): when it
pauses the update, or rolls it back, the service's update status names the failed
version and why, and the wait ends with that line (after a rollback, once the previous
version is back).

Only changes are printed, one line each, so the output reads the same in a terminal and
in a CI log; a terminal also gets a bar per service (cli/progress.py).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

from dockyard.cli.progress import wait_report
from dockyard.cli.render import crash_loop, pending_reason, task_state
from dockyard.client.control import CliError, ControlClient, call
from dockyard.controlplane.reconcile.gates import has_healthcheck
from dockyard.v1 import control_pb2, objects_pb2, specs_pb2


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one service stands in an apply: its line, whether it is up, and why its
    update failed (empty while it has not)."""

    line: str
    up: bool
    failed: str = ""


def task_ready(task: objects_pb2.Task) -> bool:
    """Running, and healthy when its spec has a healthcheck. Pure."""
    if task.status.state != objects_pb2.RUNNING:
        return False
    if has_healthcheck(task.spec):
        return task.status.health == objects_pb2.HEALTH_HEALTHY
    return task.status.health in (objects_pb2.HEALTH_NONE, objects_pb2.HEALTH_HEALTHY)


def _gave_up(task: objects_pb2.Task) -> bool:
    """A failed task its agent will not restart in place (the policy says no more)."""
    policy = task.spec.restart_policy
    if task.status.state != objects_pb2.FAILED:
        return False
    return policy.condition == specs_pb2.RESTART_NONE or bool(
        policy.max_attempts and task.status.restarts >= policy.max_attempts)


def _update_failure(new: list[objects_pb2.Task]) -> str:
    """Why a task of the new version will not get ready by itself, if one will not: it
    crash-loops, or it failed and is not restarted."""
    for t in sorted(new, key=lambda t: t.slot):
        if crash_loop(t.status):
            return f"{t.service}.{t.slot}: {crash_loop(t.status)}"
        if _gave_up(t):
            why = t.status.message or f"exit {t.status.exit_code}"
            return f"{t.service}.{t.slot}: failed: {why}"
    return ""


def service_progress(svc: objects_pb2.Service, tasks: list[objects_pb2.Task],
                     expected: str = "") -> Progress:
    """How far a service is, counting only tasks of the version waited for (`expected`,
    a spec hash; by default the service's current one): during a rolling update the old
    tasks are healthy but are not what was applied. `tasks` are the service's live
    tasks. Up when `replicas` new tasks are ready (or completed with 0) and no old task
    is left. The update has failed when the control plane paused it or rolled it back,
    or when old tasks still serve and a new one crash-loops or failed for good. Pure."""
    want = svc.spec.replicas
    version = expected or svc.spec_hash
    new = [t for t in tasks if t.spec_hash == version]
    old = len(tasks) - len(new)
    done = sum(1 for t in new if t.status.state == objects_pb2.COMPLETE
               and t.status.exit_code == 0)
    if want and done >= want and svc.spec_hash == version:
        return Progress(f"{svc.spec.name}: {done}/{want} completed", True)
    running = sum(1 for t in new if t.status.state == objects_pb2.RUNNING)
    ready = sum(1 for t in new if task_ready(t))
    up = ready >= want and not old and svc.spec_hash == version
    parts = [f"{running}/{want} running", f"{ready}/{want} healthy"]
    if old:
        parts.append(f"{old} of the previous version still running")
    update = svc.update
    ours = update.failed_hash == version
    if ours and update.state == objects_pb2.ROLLING_BACK:
        parts.append(f"rolling back: {update.message}")
    if svc.status.waiting_on:
        parts.append(svc.status.waiting_on)
    else:
        states = sorted({task_state(t) for t in new} - {"running"})
        if states and not up:
            parts.append("tasks " + ",".join(states))
        unplaced = [t for t in sorted(new, key=lambda t: t.slot)
                    if not t.node and t.unplaced_reason]
        if unplaced and not up:
            parts.append(pending_reason(unplaced[0]))
        errors = {t.status.message for t in new if t.status.state == objects_pb2.FAILED}
        errors |= {crash_loop(t.status) for t in new if crash_loop(t.status)}
        if errors and not up:
            parts.append("; ".join(sorted(errors))[:160])
    failed = update_failure(update) if ours else ""
    if not failed and old and not up and not (ours and update.state == objects_pb2.ROLLING_BACK):
        failed = _update_failure(new)
        failed = f"{failed}; the previous version still serves" if failed else ""
    return Progress(f"{svc.spec.name}: " + ", ".join(parts), up, failed)


def update_failure(update: objects_pb2.UpdateStatus) -> str:
    """Why the control plane stopped an update, or empty while it has not. Pure."""
    if update.state == objects_pb2.UPDATE_PAUSED:
        return f"{update.message}; the update is paused and the previous version still serves"
    if update.state == objects_pb2.ROLLED_BACK:
        return f"{update.message}; rolled back to the previous version"
    if update.state == objects_pb2.ROLLBACK_PAUSED:
        return f"{update.message}; the rollback paused"
    return ""


def service_done(svc: objects_pb2.Service, tasks: list[objects_pb2.Task],
                 expected: str = "") -> int:
    """How many of a service's replicas run the version waited for: ready, or completed.
    Pure."""
    new = [t for t in tasks if t.spec_hash == (expected or svc.spec_hash)]
    done = sum(1 for t in new if t.status.state == objects_pb2.COMPLETE
               and t.status.exit_code == 0)
    return max(sum(1 for t in new if task_ready(t)), done)


def expected_versions(spec: specs_pb2.AppSpec) -> dict[str, str]:
    """The spec hash each service of `spec` gets when stored: what a wait waits for."""
    from dockyard.controlplane.desired import service_hash

    return {s.name: service_hash(s) for s in spec.services}


def wait_for_app(
    stub: ControlClient, address: str, app: str, *, timeout_s: float,
    expected: dict[str, str] | None = None, what: str = "update",
) -> int:
    """Follow `app` until it is up, its update failed, or `timeout_s`. `expected` maps a
    service to the spec hash the apply (or rollback) wrote; `what` names it in errors."""
    versions = expected or {}
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
            failures: list[str] = []
            for svc in d.services:
                version = versions.get(svc.spec.name, "")
                progress = service_progress(svc, by_svc.get(svc.spec.name, []), version)
                line, up = progress.line, progress.up
                if progress.failed:
                    failures.append(progress.failed)
                report.service(svc.spec.name,
                               service_done(svc, by_svc.get(svc.spec.name, []), version),
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
            if failures:
                report.close()
                raise CliError(f"the {what} of {app} failed: {'; '.join(failures)}")
            if time.monotonic() > deadline:
                pending = "; ".join(ln for ln in lines if "healthy" in ln)
                raise CliError(f"timed out after {timeout_s:g}s waiting for {app}: {pending}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        report.close()
        print(f"stopped waiting; the {'apply' if what == 'update' else what} of {app} "
              "stands", file=sys.stderr)
        return 130
    finally:
        report.close()
