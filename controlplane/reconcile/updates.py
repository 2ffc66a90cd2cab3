"""How a rolling update proceeds, and when it has failed: `update_config` as decisions.
Pure functions of (the service's update config and state, its new tasks, the time).

An apply that changes a service's spec starts an update (state UPDATING, set by the
Control API). Each round the task reconciler asks `judge` how many more outdated slots
may start being replaced, and whether the update's state moves on:

- **pacing**: at most `parallelism` slots change at once (0: all); a slot is in flight
  while its new task is not ready yet; after a batch gets ready the next waits `delay`;
- **failure**: a task of the new version that fails (exits non-zero, restarts in place,
  or turns unhealthy) while the update runs, or within `monitor` after it got ready,
  counts against the update. A failed task no longer holds a slot of `parallelism`.
  Once more than `max_failure_ratio` of the replicas failed (0: the first failure),
  `failure_action` is taken: `pause` stops replacing tasks (the old ones keep serving),
  `continue` goes on, `rollback` puts the previous spec back, and the old version then
  returns per `rollback_config`;
- **the end**: once no slot runs the old version and every new task got ready (or
  failed, under `continue`) and was watched for `monitor`, the update is COMPLETED
  (ROLLED_BACK after a rollback).

No timer is kept anywhere: every decision reads times the agents reported (when a task
got ready) and the round's clock, so any leader takes over an update where it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.v1 import objects_pb2, specs_pb2

DEFAULT_MONITOR_MS = 5000
RUNNING_STATES = (objects_pb2.UPDATING, objects_pb2.ROLLING_BACK)
STOPPED_STATES = (objects_pb2.UPDATE_PAUSED, objects_pb2.ROLLBACK_PAUSED)


@dataclass(frozen=True, slots=True)
class Policy:
    """One update's settings, defaults filled in."""

    parallelism: int  # 0: every slot at once
    delay_ms: int
    order: str  # "stop-first" or "start-first"
    monitor_ms: int
    max_failure_ratio: float
    failure_action: str  # "pause", "continue" or "rollback"


def policy_for(spec: specs_pb2.ServiceSpec, *, rolling_back: bool) -> Policy:
    """The update's policy: `update_config`, or while rolling back `rollback_config`
    (unset: update_config's pacing with failure_action "pause"). A rollback has nothing
    earlier to go back to, so "rollback" means "pause" there. Pure."""
    config = spec.update_config
    if rolling_back and spec.HasField("rollback_config"):
        config = spec.rollback_config
    action = config.failure_action or "pause"
    if rolling_back and (action == "rollback" or not spec.HasField("rollback_config")):
        action = "pause"
    return Policy(
        parallelism=max(0, config.parallelism),
        delay_ms=max(0, config.delay_ms),
        order=config.order or "stop-first",
        monitor_ms=config.monitor_ms if config.HasField("monitor_ms") else DEFAULT_MONITOR_MS,
        max_failure_ratio=config.max_failure_ratio,
        failure_action=action,
    )


@dataclass(frozen=True, slots=True)
class NewTask:
    """What the update needs to know of one task of the new version."""

    name: str  # "web.2", for messages
    ready: bool  # running, and healthy when it has a healthcheck
    failure: str  # why it failed, for a person; empty when it has not
    ready_ms: int = 0  # when it got ready, as the agent reported (0: not known)


def new_task(task: objects_pb2.Task, status: objects_pb2.TaskStatus, *,
             has_healthcheck: bool) -> NewTask:
    """The update's view of a task of the new version. Pure."""
    name = f"{task.service}.{task.slot}"
    failure = ""
    if status.state == objects_pb2.FAILED:
        failure = f"{name} failed: {status.message or f'exit {status.exit_code}'}"
    elif status.health == objects_pb2.HEALTH_UNHEALTHY:
        failure = f"{name} unhealthy ({status.failing_streak} checks failed)"
    elif status.restarts:
        failure = (f"{name} restarted {status.restarts} time"
                   f"{'s' if status.restarts > 1 else ''} (last exit {status.exit_code})")
    ready = not failure and status.state == objects_pb2.RUNNING and (
        not has_healthcheck or status.health == objects_pb2.HEALTH_HEALTHY)
    ready_ms = 0
    if ready:
        ready_ms = (status.healthy_ms if has_healthcheck else status.started_ms
                    ) or status.timestamp_ms
    return NewTask(name=name, ready=ready, failure=failure, ready_ms=ready_ms)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a round does with one service's update."""

    start: int  # how many more outdated slots may start being replaced now
    update: objects_pb2.UpdateStatus  # the update's state after this round
    rollback: bool = False  # put the previous spec back now
    event: str = ""  # a line for the service's events when the state changed


def judge(
    *,
    service: str,
    policy: Policy,
    update: objects_pb2.UpdateStatus,
    replicas: int,
    new: Sequence[NewTask],
    outdated: int,
    spec_hash: str,
    can_roll_back: bool,
    now_ms: int,
) -> Verdict:
    """One round's decision for one service's update. `new` are the live tasks of the
    current spec, `outdated` how many slots still run an older one. Pure."""
    state = update.state
    running = state in RUNNING_STATES
    failed = [t for t in new if t.failure]
    in_flight = sum(1 for t in new if not t.ready and not t.failure)
    if state in STOPPED_STATES:
        return Verdict(start=0, update=update)
    if running and failed and len(failed) > policy.max_failure_ratio * max(replicas, 1):
        why = "; ".join(sorted(t.failure for t in failed))
        verdict = _on_failure(service=service, policy=policy, update=update, why=why,
                              spec_hash=spec_hash, can_roll_back=can_roll_back,
                              now_ms=now_ms)
        if verdict is not None:
            return verdict
    room = outdated if not policy.parallelism else max(0, policy.parallelism - in_flight)
    last_ready = max((t.ready_ms for t in new), default=0)
    if policy.delay_ms and last_ready and now_ms < last_ready + policy.delay_ms:
        room = 0
    if in_flight and policy.delay_ms and policy.parallelism:
        room = 0  # a batch at a time: the delay runs from the batch's last ready task
    finished = (running and not outdated and not in_flight and len(new) >= replicas
                and now_ms >= last_ready + policy.monitor_ms)
    if finished:
        done = objects_pb2.UpdateStatus()
        done.CopyFrom(update)
        done.finished_ms = now_ms
        if state == objects_pb2.ROLLING_BACK:
            done.state = objects_pb2.ROLLED_BACK
            return Verdict(start=0, update=done,
                           event=f"{service} rolled back to the previous version")
        done.state = objects_pb2.UPDATE_COMPLETED
        if failed:
            done.message = f"completed with {len(failed)} failed: " + "; ".join(
                sorted(t.failure for t in failed))
        return Verdict(start=0, update=done, event=f"update of {service} completed"
                       + (f" ({done.message})" if failed else ""))
    return Verdict(start=min(room, outdated), update=update)


def _on_failure(
    *, service: str, policy: Policy, update: objects_pb2.UpdateStatus, why: str,
    spec_hash: str, can_roll_back: bool, now_ms: int,
) -> Verdict | None:
    """The failure action, or None for "continue". Pure."""
    if policy.failure_action == "continue":
        return None
    stopped = objects_pb2.UpdateStatus(
        started_ms=update.started_ms, finished_ms=now_ms, message=why,
        failed_hash=update.failed_hash or spec_hash)
    if update.state == objects_pb2.ROLLING_BACK:
        stopped.state = objects_pb2.ROLLBACK_PAUSED
        return Verdict(start=0, update=stopped,
                       event=f"rollback of {service} paused: {why}")
    if policy.failure_action == "rollback" and can_roll_back:
        rolling = objects_pb2.UpdateStatus(
            state=objects_pb2.ROLLING_BACK, started_ms=now_ms, message=why,
            failed_hash=spec_hash)
        return Verdict(start=0, update=rolling, rollback=True,
                       event=f"update of {service} failed: {why}; rolling back to the "
                             "previous version")
    stopped.state = objects_pb2.UPDATE_PAUSED
    after = "" if policy.failure_action == "pause" else " (no previous version to roll back to)"
    return Verdict(start=0, update=stopped,
                   event=f"update of {service} paused{after}: {why}; the previous version "
                         "keeps serving where it runs; apply a fixed file or "
                         "`dockyard rollback`")
