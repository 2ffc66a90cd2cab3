"""Parsing and evaluating ``placement.constraints`` and spread label keys.

Why this module exists: constraints arrive as strings written by users
(``node.labels.zone != b``) and are checked in two places: the ``Constraints`` rule of
``place`` and ``never_fits`` when an apply is refused.  One parser and one evaluator
keep the two in agreement, and a parser that fails with a one-line message gives the
user an error that names the mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dockyard.scheduler.model import HOSTNAME_KEY, LABEL_PREFIX, Constraint, NodeInfo

_OPS = ("==", "!=")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$")


def _check_key(*, key: str, text: str) -> None:
    if key == HOSTNAME_KEY:
        return
    if key.startswith(LABEL_PREFIX):
        label = key[len(LABEL_PREFIX) :]
        if label and _LABEL_NAME.match(label):
            return
        raise ValueError(f"constraint {text!r}: bad label name {label!r}")
    raise ValueError(
        f"constraint {text!r}: key must be node.hostname or node.labels.NAME, got {key!r}"
    )


def parse_constraint(text: str) -> Constraint:
    """Parse ``KEY==VALUE`` or ``KEY!=VALUE``; spaces around the parts are allowed.

    Raises ``ValueError`` with a one-line message when the text is not a constraint.
    """
    if "\n" in text:
        raise ValueError("constraint must be on one line")
    found = [(text.find(op), op) for op in _OPS if op in text]
    if not found:
        raise ValueError(f"constraint {text!r}: expected KEY==VALUE or KEY!=VALUE")
    position, op = min(found)
    key = text[:position].strip()
    value = text[position + len(op) :].strip()
    if not key:
        raise ValueError(f"constraint {text!r}: missing key before {op!r}")
    if not value:
        raise ValueError(f"constraint {text!r}: missing value after {op!r}")
    if any(other in value for other in (*_OPS, "=", "!")) or any(ch.isspace() for ch in value):
        raise ValueError(f"constraint {text!r}: value {value!r} is not a single word")
    if any(ch.isspace() for ch in key):
        raise ValueError(f"constraint {text!r}: key {key!r} contains spaces")
    _check_key(key=key, text=text)
    return Constraint(key=key, op=op, value=value)


def node_value(*, key: str, name: str, labels: Mapping[str, str]) -> str | None:
    """The value a node has for ``key`` (``node.hostname`` or ``node.labels.K``).

    ``None`` when the node has no such label.
    """
    if key == HOSTNAME_KEY:
        return name
    if key.startswith(LABEL_PREFIX):
        return labels.get(key[len(LABEL_PREFIX) :])
    return None


def constraint_holds(*, constraint: Constraint, node: NodeInfo) -> bool:
    """Whether ``node`` satisfies ``constraint``.

    As in Swarm, a node without the label fails ``==`` and passes ``!=``.
    """
    value = node_value(key=constraint.key, name=node.name, labels=node.labels)
    if constraint.op == "==":
        return value == constraint.value
    if constraint.op == "!=":
        return value != constraint.value
    raise ValueError(f"constraint {constraint}: unknown operator {constraint.op!r}")
