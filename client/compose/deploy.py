"""`deploy`, `restart`, `healthcheck` and `depends_on` of a service.

Why together: these keys say how a service runs as a set of tasks (how many, where,
how it restarts, when it counts as ready), which is what the scheduler and the
reconcilers read. Pure.
"""

from __future__ import annotations

from typing import Any

from dockyard.client.compose.keys import SERVICE, check_table
from dockyard.client.compose.reader import (
    boolean,
    check_keys,
    integer,
    key_value_pairs,
    mapping,
    string,
    string_list,
)
from dockyard.common.spec.errors import Notes, SpecError, kind, show
from dockyard.common.spec.rules import FAILURE_ACTIONS, UPDATE_ORDERS
from dockyard.common.spec.units import parse_cpus_millis, parse_duration_ms, parse_size_bytes
from dockyard.scheduler.constraints import parse_constraint
from dockyard.v1 import specs_pb2

CONDITIONS = {
    "service_started": specs_pb2.SERVICE_STARTED,
    "service_healthy": specs_pb2.SERVICE_HEALTHY,
    "service_completed_successfully": specs_pb2.SERVICE_COMPLETED_SUCCESSFULLY,
}
RESTART_CONDITIONS = {
    "none": specs_pb2.RESTART_NONE,
    "on-failure": specs_pb2.RESTART_ON_FAILURE,
    "any": specs_pb2.RESTART_ANY,
}
LABEL_PREFIX = "node.labels."


def parse_depends_on(value: Any, *, where: str) -> list[specs_pb2.Dependency]:
    """Short form (a list: started, required) or long form (condition/restart/required)."""
    if isinstance(value, list):
        names = string_list(value, where=where)
        return [
            specs_pb2.Dependency(
                service=name, condition=specs_pb2.SERVICE_STARTED, restart=False, required=True
            )
            for name in names
        ]
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a list or a mapping, got {kind(value)}")
    result = []
    for name, options in mapping(value, where=where).items():
        at = f"{where}.{name}"
        body = mapping(options, where=at, allow_null=True)
        check_keys(body, where=at, allowed={"condition", "restart", "required"})
        condition_text = string(body.get("condition", "service_started"), where=f"{at}.condition")
        if condition_text not in CONDITIONS:
            raise SpecError(
                f"{at}.condition: expected one of {', '.join(CONDITIONS)}, "
                f"got {show(condition_text)}"
            )
        result.append(
            specs_pb2.Dependency(
                service=name,
                condition=CONDITIONS[condition_text],
                restart=boolean(body.get("restart", False), where=f"{at}.restart"),
                required=boolean(body.get("required", True), where=f"{at}.required"),
            )
        )
    return result


def parse_healthcheck(value: Any, *, where: str, notes: Notes) -> specs_pb2.HealthCheck:
    body = mapping(value, where=where)
    check_table(body, table=SERVICE, path="healthcheck", where=where, notes=notes)
    check = specs_pb2.HealthCheck()
    if body.get("test") is not None:
        test = body["test"]
        if isinstance(test, str):
            check.test.extend(["CMD-SHELL", test])
        else:
            words = string_list(test, where=f"{where}.test")
            if not words or words[0] not in ("CMD", "CMD-SHELL", "NONE"):
                raise SpecError(
                    f"{where}.test: a list must start with CMD, CMD-SHELL or NONE, got {show(test)}"
                )
            if words[0] == "CMD-SHELL" and len(words) != 2:
                raise SpecError(f"{where}.test: CMD-SHELL takes exactly one command string")
            if words[0] == "CMD" and len(words) < 2:
                raise SpecError(f"{where}.test: CMD needs a command after it")
            check.test.extend(words)
    for key, field in (
        ("interval", "interval_ms"),
        ("timeout", "timeout_ms"),
        ("start_period", "start_period_ms"),
        ("start_interval", "start_interval_ms"),
    ):
        if body.get(key) is not None:
            setattr(check, field, parse_duration_ms(body[key], where=f"{where}.{key}"))
    if body.get("retries") is not None:
        check.retries = integer(body["retries"], where=f"{where}.retries")
    if body.get("disable") is not None and boolean(body["disable"], where=f"{where}.disable"):
        if list(check.test) not in ([], ["NONE"]):
            raise SpecError(f'{where}: "disable: true" cannot be combined with a test')
        check.disable = True
    if list(check.test) == ["NONE"] or check.disable:
        check.disable = True
        del check.test[:]
        check.test.append("NONE")
    return check


def parse_restart(value: Any, *, where: str) -> specs_pb2.RestartPolicy:
    """``no``, ``always``, ``unless-stopped``, ``on-failure`` or ``on-failure:N``."""
    text = string(value, where=where) if value is not False else "no"
    policy = specs_pb2.RestartPolicy()
    name, _, attempts = text.partition(":")
    if name == "no" and not attempts:
        policy.condition = specs_pb2.RESTART_NONE
    elif name in ("always", "unless-stopped") and not attempts:
        policy.condition = specs_pb2.RESTART_ANY
    elif name == "on-failure":
        policy.condition = specs_pb2.RESTART_ON_FAILURE
        if attempts:
            policy.max_attempts = integer(attempts, where=where)
    else:
        raise SpecError(
            f"{where}: expected no, always, on-failure[:N] or unless-stopped, got {show(value)}"
        )
    return policy


def _parse_restart_policy(
    value: Any, policy: specs_pb2.RestartPolicy, *, where: str, notes: Notes
) -> None:
    body = mapping(value, where=where)
    check_table(body, table=SERVICE, path="deploy.restart_policy", where=where, notes=notes)
    if body.get("condition") is not None:
        text = string(body["condition"], where=f"{where}.condition")
        if text not in RESTART_CONDITIONS:
            raise SpecError(
                f"{where}.condition: expected none, on-failure or any, got {show(text)}"
            )
        policy.condition = RESTART_CONDITIONS[text]
    if body.get("delay") is not None:
        policy.delay_ms = parse_duration_ms(body["delay"], where=f"{where}.delay")
    if body.get("max_attempts") is not None:
        policy.max_attempts = integer(body["max_attempts"], where=f"{where}.max_attempts")
    if body.get("window") is not None:
        policy.window_ms = parse_duration_ms(body["window"], where=f"{where}.window")


def _parse_resources(
    value: Any, service: specs_pb2.ServiceSpec, *, kind_: str, where: str, notes: Notes
) -> None:
    body = mapping(value, where=where, allow_null=True)
    path = f"deploy.resources.{kind_}"
    check_table(body, table=SERVICE, path=path, where=where, notes=notes)
    target = service.limits if kind_ == "limits" else service.reservations
    if body.get("pids") is not None:
        service.pids_limit = integer(body["pids"], where=f"{where}.pids", minimum=-1,
                                     maximum=2**62)  # fmt: skip
    if body.get("cpus") is not None:
        target.cpu_millis = parse_cpus_millis(body["cpus"], where=f"{where}.cpus")
    if body.get("memory") is not None:
        target.memory_bytes = parse_size_bytes(body["memory"], where=f"{where}.memory")


def normalize_constraint(text: str, *, where: str) -> str:
    """``"node.labels.zone == a"`` -> ``"node.labels.zone==a"``.

    Checked by the scheduler's own parser, so what is accepted here is what it runs.
    """
    try:
        constraint = parse_constraint(text)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return f"{constraint.key}{constraint.op}{constraint.value}"


def _parse_placement(
    value: Any, placement: specs_pb2.PlacementSpec, *, where: str, notes: Notes
) -> None:
    body = mapping(value, where=where, allow_null=True)
    check_table(body, table=SERVICE, path="deploy.placement", where=where, notes=notes)
    if body.get("constraints") is not None:
        texts = string_list(body["constraints"], where=f"{where}.constraints")
        for index, text in enumerate(texts):
            at = f"{where}.constraints[{index}]"
            placement.constraints.append(normalize_constraint(text, where=at))
    if body.get("preferences") is not None:
        preferences = body["preferences"]
        if not isinstance(preferences, list):
            raise SpecError(f"{where}.preferences: expected a list, got {kind(preferences)}")
        for index, item in enumerate(preferences):
            at = f"{where}.preferences[{index}]"
            entry = mapping(item, where=at)
            check_keys(entry, where=at, allowed={"spread"})
            if "spread" not in entry:
                raise SpecError(f"{at}: expected {{spread: node.labels.NAME}}")
            key = string(entry["spread"], where=f"{at}.spread").strip()
            if not key.startswith(LABEL_PREFIX) or len(key) == len(LABEL_PREFIX):
                raise SpecError(f"{at}.spread: expected node.labels.NAME, got {show(key)}")
            placement.spread.append(key)
    if body.get("max_replicas_per_node") is not None:
        placement.max_per_node = integer(
            body["max_replicas_per_node"], where=f"{where}.max_replicas_per_node", minimum=1
        )


def _parse_update_config(
    value: Any, update: specs_pb2.UpdateConfig, *, path: str, where: str, notes: Notes
) -> None:
    """`deploy.update_config` or `deploy.rollback_config` (the same keys)."""
    body = mapping(value, where=where)
    check_table(body, table=SERVICE, path=path, where=where, notes=notes)
    if body.get("parallelism") is not None:
        update.parallelism = integer(body["parallelism"], where=f"{where}.parallelism")
    if body.get("delay") is not None:
        update.delay_ms = parse_duration_ms(body["delay"], where=f"{where}.delay")
    if body.get("monitor") is not None:
        update.monitor_ms = parse_duration_ms(body["monitor"], where=f"{where}.monitor")
    if body.get("max_failure_ratio") is not None:
        update.max_failure_ratio = _ratio(body["max_failure_ratio"],
                                          where=f"{where}.max_failure_ratio")
    for key, allowed in (("order", UPDATE_ORDERS), ("failure_action", FAILURE_ACTIONS)):
        if body.get(key) is not None:
            text = string(body[key], where=f"{where}.{key}")
            if text not in allowed:
                raise SpecError(f"{where}.{key}: expected {' or '.join(allowed)}, got {show(text)}")
            setattr(update, key, text)


def _ratio(value: Any, *, where: str) -> float:
    """A number from 0 to 1 (max_failure_ratio)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError(f"{where}: expected a number from 0 to 1, got {show(value)}")
    try:
        number = float(value)
    except ValueError:
        raise SpecError(f"{where}: expected a number from 0 to 1, got {show(value)}") from None
    if not 0.0 <= number <= 1.0:
        raise SpecError(f"{where}: expected a number from 0 to 1, got {show(value)}")
    return number


def parse_deploy(
    value: Any, service: specs_pb2.ServiceSpec, *, where: str, notes: Notes
) -> None:
    """Fill replicas, labels, resources, restart policy, placement and update config."""
    body = mapping(value, where=where, allow_null=True)
    check_table(body, table=SERVICE, path="deploy", where=where, notes=notes)
    mode = body.get("mode", "replicated")
    if mode == "global":
        raise SpecError(
            f'{where}.mode: "global" is not supported by Dockyard: set replicas to the node '
            "count and x-dockyard.max_per_node to 1"
        )
    if mode != "replicated":
        raise SpecError(f'{where}.mode: expected "replicated", got {show(mode)}')
    if body.get("replicas") is not None:
        service.replicas = integer(body["replicas"], where=f"{where}.replicas")
    if body.get("labels") is not None:
        service.deploy_labels.update(key_value_pairs(body["labels"], where=f"{where}.labels"))
    if body.get("resources") is not None:
        at = f"{where}.resources"
        resources = mapping(body["resources"], where=at, allow_null=True)
        check_table(resources, table=SERVICE, path="deploy.resources", where=at, notes=notes)
        for kind_ in ("limits", "reservations"):
            if kind_ in resources:
                _parse_resources(
                    resources[kind_], service, kind_=kind_, where=f"{at}.{kind_}", notes=notes
                )
    if body.get("restart_policy") is not None:
        _parse_restart_policy(
            body["restart_policy"], service.restart_policy, where=f"{where}.restart_policy",
            notes=notes,
        )
    if body.get("placement") is not None:
        _parse_placement(
            body["placement"], service.placement, where=f"{where}.placement", notes=notes
        )
    for key in ("update_config", "rollback_config"):
        if body.get(key) is not None:
            _parse_update_config(body[key], getattr(service, key), path=f"deploy.{key}",
                                 where=f"{where}.{key}", notes=notes)
