"""What to do next for one task, given what is desired and what the engine shows. Pure.

One step function moves a task forward and never back (SwarmKit's agent/exec): prepare
(pull, create), start, watch, and on the way out stop and remove. Restarts in place
follow the task's restart policy with exponential backoff.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dockyard.v1 import objects_pb2, specs_pb2


class Action(enum.Enum):
    NOTHING = "nothing"
    CREATE = "create"  # pull if missing, then create
    START = "start"
    RESTART = "restart"  # start again after a backoff
    STOP = "stop"
    REMOVE = "remove"  # stop if needed, then remove


@dataclass(frozen=True, slots=True)
class Observed:
    """The container of a task as the engine reports it."""

    exists: bool = False
    running: bool = False
    exited: bool = False
    exit_code: int = 0


def restart_wanted(policy: specs_pb2.RestartPolicy, exit_code: int, restarts: int) -> bool:
    cond = policy.condition or specs_pb2.RESTART_ANY
    if cond == specs_pb2.RESTART_NONE:
        return False
    if cond == specs_pb2.RESTART_ON_FAILURE and exit_code == 0:
        return False
    return not (policy.max_attempts and restarts >= policy.max_attempts)


def backoff_s(restarts: int, policy: specs_pb2.RestartPolicy) -> float:
    """Exponential from the policy's delay (or 0.1 s), doubling per restart, capped at
    10 s, but never shorter than the delay the policy asks for."""
    base = policy.delay_ms / 1000 if policy.delay_ms else 0.1
    return float(min(max(10.0, base), base * (2 ** min(restarts, 10))))


def next_action(
    *, desired: int | None, observed: Observed, spec: specs_pb2.ServiceSpec, restarts: int
) -> Action:
    """`desired` is the task's DesiredState, or None when the task is no longer assigned."""
    if desired is None or desired == objects_pb2.DESIRED_REMOVE:
        return Action.REMOVE if observed.exists else Action.NOTHING
    if desired == objects_pb2.DESIRED_SHUTDOWN:
        return Action.STOP if observed.running else Action.NOTHING
    if not observed.exists:
        return Action.CREATE
    if desired == objects_pb2.DESIRED_READY or observed.running:
        return Action.NOTHING
    if not observed.exited:
        return Action.START  # created, never started
    if restart_wanted(spec.restart_policy, observed.exit_code, restarts):
        return Action.RESTART
    return Action.NOTHING
