"""Compose variable interpolation in values: `$VAR`, `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, and `$$`
for a literal `$`. A purely computational function of (document, environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.common.spec.errors import SpecError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATTERN = re.compile(
    rf"\$(?:(?P<escaped>\$)|(?P<plain>{_NAME})|\{{(?P<braced>{_NAME})"
    r"(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<invalid>\{[^}]*\}?|))"
)


def interpolate(document: Any, environ: Mapping[str, str]) -> tuple[Any, list[str]]:
    """The document with every string value interpolated, and a warning per unset variable
    that defaulted to a blank string. Keys are left as written, as Compose does."""
    unset: list[str] = []

    def one(text: str) -> str:
        def replace(m: re.Match[str]) -> str:
            if m.group("escaped"):
                return "$"
            if m.group("invalid") is not None:
                raise SpecError(f"invalid interpolation format in {text!r}")
            name = m.group("plain") or m.group("braced")
            op, arg = m.group("op"), m.group("arg") or ""
            value = environ.get(name)
            if op in (":-", "-"):
                use_default = value is None or (op == ":-" and value == "")
                return arg if use_default else str(value)
            if op in (":?", "?"):
                if value is None or (op == ":?" and value == ""):
                    why = f"required variable {name} is missing a value: {arg}"
                    raise SpecError(why.rstrip(": "))
                return value
            if op in (":+", "+"):
                present = value is not None and (op == "+" or value != "")
                return arg if present else ""
            if value is None:
                if name not in unset:
                    unset.append(name)
                return ""
            return value

        return _PATTERN.sub(replace, text)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return one(node)
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(document)
    warnings = [f"the {n} variable is not set; it defaults to a blank string" for n in unset]
    return out, warnings
