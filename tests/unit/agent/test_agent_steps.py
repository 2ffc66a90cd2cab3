"""agent/steps.py: the step function, restart policy and backoff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.agent.steps import Action, Observed, backoff_s, next_action, restart_wanted
from dockyard.v1 import objects_pb2, specs_pb2

ABSENT = Observed()
CREATED = Observed(exists=True)
RUNNING = Observed(exists=True, running=True)
EXITED_0 = Observed(exists=True, exited=True, exit_code=0)
EXITED_1 = Observed(exists=True, exited=True, exit_code=1)
OBSERVED = {"absent": ABSENT, "created": CREATED, "running": RUNNING, "exited0": EXITED_0,
            "exited1": EXITED_1}

ANY = specs_pb2.RESTART_ANY
NONE = specs_pb2.RESTART_NONE
ON_FAILURE = specs_pb2.RESTART_ON_FAILURE
UNSET = specs_pb2.RESTART_CONDITION_UNSPECIFIED

D_READY = objects_pb2.DESIRED_READY
D_RUN = objects_pb2.DESIRED_RUNNING
D_SHUT = objects_pb2.DESIRED_SHUTDOWN
D_REMOVE = objects_pb2.DESIRED_REMOVE

N, C, S, R, P, X = (Action.NOTHING, Action.CREATE, Action.START, Action.RESTART, Action.STOP,
                    Action.REMOVE)

# desired -> observed -> action, for restart conditions that differ only when exited
TABLE: dict[int | None, dict[str, Action]] = {
    None: {"absent": N, "created": X, "running": X, "exited0": X, "exited1": X},
    D_REMOVE: {"absent": N, "created": X, "running": X, "exited0": X, "exited1": X},
    D_SHUT: {"absent": N, "created": N, "running": P, "exited0": N, "exited1": N},
    D_READY: {"absent": C, "created": N, "running": N, "exited0": N, "exited1": N},
    D_RUN: {"absent": C, "created": S, "running": N},
}
EXITED_RUN = {
    (ANY, "exited0"): R, (ANY, "exited1"): R,
    (UNSET, "exited0"): R, (UNSET, "exited1"): R,
    (ON_FAILURE, "exited0"): N, (ON_FAILURE, "exited1"): R,
    (NONE, "exited0"): N, (NONE, "exited1"): N,
}


def _spec(condition: int = UNSET, max_attempts: int = 0) -> specs_pb2.ServiceSpec:
    s = specs_pb2.ServiceSpec(name="web")
    s.restart_policy.condition = condition
    s.restart_policy.max_attempts = max_attempts
    return s


def _cases() -> list[tuple[int | None, str, int, Action]]:
    out = []
    for cond in (ANY, NONE, ON_FAILURE, UNSET):
        for desired, row in TABLE.items():
            for obs, action in row.items():
                out.append((desired, obs, cond, action))
        for obs in ("exited0", "exited1"):
            out.append((D_RUN, obs, cond, EXITED_RUN[(cond, obs)]))
    return out


@pytest.mark.parametrize(("desired", "observed", "condition", "action"), _cases())
def test_next_action(desired: int | None, observed: str, condition: int,
                     action: Action) -> None:
    got = next_action(desired=desired, observed=OBSERVED[observed], spec=_spec(condition),
                      restarts=0)
    assert got == action


@pytest.mark.parametrize(
    ("restarts", "max_attempts", "action"),
    [(0, 0, R), (100, 0, R), (0, 3, R), (2, 3, R), (3, 3, N), (4, 3, N), (0, 1, R), (1, 1, N)],
)
def test_next_action_gives_up_after_max_attempts(restarts: int, max_attempts: int,
                                                 action: Action) -> None:
    got = next_action(desired=D_RUN, observed=EXITED_1, spec=_spec(ANY, max_attempts),
                      restarts=restarts)
    assert got == action


@pytest.mark.parametrize(
    ("condition", "exit_code", "restarts", "max_attempts", "wanted"),
    [
        (UNSET, 0, 0, 0, True),
        (ANY, 0, 0, 0, True),
        (ANY, 137, 5, 0, True),
        (ANY, 1, 5, 5, False),
        (NONE, 1, 0, 0, False),
        (NONE, 0, 0, 0, False),
        (ON_FAILURE, 0, 0, 0, False),
        (ON_FAILURE, 2, 0, 0, True),
        (ON_FAILURE, 2, 1, 2, True),
        (ON_FAILURE, 2, 2, 2, False),
    ],
)
def test_restart_wanted(condition: int, exit_code: int, restarts: int, max_attempts: int,
                        wanted: bool) -> None:
    policy = specs_pb2.RestartPolicy(condition=condition, max_attempts=max_attempts)
    assert restart_wanted(policy, exit_code, restarts) is wanted


@pytest.mark.parametrize(
    ("delay_ms", "restarts", "seconds"),
    [
        (0, 0, 0.1), (0, 1, 0.2), (0, 2, 0.4), (0, 6, 6.4), (0, 7, 10.0), (0, 100, 10.0),
        (500, 0, 0.5), (500, 1, 1.0), (500, 4, 8.0), (500, 5, 10.0),
        (5000, 0, 5.0), (5000, 1, 10.0),
    ],
)
def test_backoff_table(delay_ms: int, restarts: int, seconds: float) -> None:
    policy = specs_pb2.RestartPolicy(delay_ms=delay_ms)
    assert backoff_s(restarts, policy) == pytest.approx(seconds)


@given(st.integers(0, 60_000), st.integers(0, 10_000))
def test_backoff_is_monotonic_and_capped(delay_ms: int, restarts: int) -> None:
    policy = specs_pb2.RestartPolicy(delay_ms=delay_ms)
    b = backoff_s(restarts, policy)
    assert 0 < b <= max(10.0, delay_ms / 1000)
    assert backoff_s(restarts + 1, policy) >= b


def test_backoff_never_shorter_than_the_policy_delay() -> None:
    policy = specs_pb2.RestartPolicy(delay_ms=30_000)
    assert backoff_s(0, policy) >= 30.0
