"""Durations, sizes and CPU counts as Compose writes them, and back.

Why: the wire counts in integers (milliseconds, bytes, thousandths of a core) so that
the scheduler never does float arithmetic. This module is the one place where the
user's ``1m30s``, ``1.5GiB`` or ``"0.5"`` becomes such an integer, with a clear error
for garbage and negatives. All functions are pure.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from dockyard.common.spec.errors import SpecError, show

_INT64_MAX = 2**63 - 1

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(rf"(?:{_NUMBER}(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_MS = {
    "ns": Decimal("0.000001"),
    "us": Decimal("0.001"),
    "µs": Decimal("0.001"),
    "μs": Decimal("0.001"),
    "ms": Decimal(1),
    "s": Decimal(1000),
    "m": Decimal(60_000),
    "h": Decimal(3_600_000),
}
_SIZE = re.compile(rf"({_NUMBER})\s*([kmgtp]?)(i?b)?", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_CPUS = re.compile(_NUMBER)

_DURATION_HINT = "use a number with a unit, like 10s, 1m30s or 500ms"
_SIZE_HINT = "use bytes or a number with a unit, like 512m or 1.5g"


def _to_int(amount: Decimal, *, where: str, value: Any) -> int:
    result = int(amount.to_integral_value(rounding=ROUND_HALF_UP))
    if result > _INT64_MAX:
        raise SpecError(f"{where}: {show(value)} is too large")
    return result


def _check_number(value: Any, *, where: str, what: str, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError(f"{where}: expected a {what}, got {show(value)}; {hint}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{where}: {show(value)} is not a valid {what}")
    if isinstance(value, int | float) and value < 0:
        raise SpecError(f"{where}: {what} must not be negative, got {show(value)}")
    if isinstance(value, str) and value.strip().startswith("-"):
        raise SpecError(f"{where}: {what} must not be negative, got {show(value)}")


def parse_duration_ms(value: Any, *, where: str) -> int:
    """``"1m30s"`` -> 90000. Go duration syntax (ns, us, ms, s, m, h), as Compose uses.

    A bare number is refused unless it is 0, because ``10`` could mean seconds or
    nanoseconds depending on the tool.
    """
    _check_number(value, where=where, what="duration", hint=_DURATION_HINT)
    if isinstance(value, int | float):
        if value == 0:
            return 0
        raise SpecError(f"{where}: duration {show(value)} has no unit; write {value}s or {value}ms")
    text = value.strip()
    if text == "0":
        return 0
    if not _DURATION.fullmatch(text):
        raise SpecError(f"{where}: invalid duration {show(value)}; {_DURATION_HINT}")
    total = Decimal(0)
    for number, unit in _DURATION_PART.findall(text):
        total += Decimal(number) * _DURATION_MS[unit]
    return _to_int(total, where=where, value=value)


def parse_size_bytes(value: Any, *, where: str) -> int:
    """``"512M"`` -> 536870912. Units are binary (k = 1024), as Docker counts memory."""
    _check_number(value, where=where, what="size", hint=_SIZE_HINT)
    if isinstance(value, float):
        if not value.is_integer():
            raise SpecError(f"{where}: size {show(value)} is not a whole number of bytes")
        value = int(value)
    if isinstance(value, int):
        return _to_int(Decimal(value), where=where, value=value)
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise SpecError(f"{where}: invalid size {show(value)}; {_SIZE_HINT}")
    number, prefix, suffix = match.groups()
    if suffix and suffix.lower() == "ib" and not prefix:
        raise SpecError(f"{where}: invalid size {show(value)}; {_SIZE_HINT}")
    amount = Decimal(number) * _SIZE_FACTOR[prefix.lower()]
    return _to_int(amount, where=where, value=value)


def parse_cpus_millis(value: Any, *, where: str) -> int:
    """``1.5`` or ``"1.5"`` -> 1500 thousandths of a core."""
    _check_number(value, where=where, what="CPU count", hint="use a number like 0.5 or 2")
    text = value.strip() if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not _CPUS.fullmatch(text):
        raise SpecError(f"{where}: invalid CPU count {show(value)}; use a number like 0.5 or 2")
    try:
        amount = Decimal(text) * 1000
    except InvalidOperation:
        raise SpecError(f"{where}: invalid CPU count {show(value)}") from None
    return _to_int(amount, where=where, value=value)


def format_duration(ms: int) -> str:
    """90000 -> ``"1m30s"``; 1500 -> ``"1s500ms"``; 0 -> ``"0s"``. Inverse of parsing."""
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str | int:
    """536870912 -> ``"512M"``; sizes that are not whole KiB stay plain byte counts."""
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return size


def format_cpus(millis: int) -> float | int:
    """1500 -> 1.5; 2000 -> 2."""
    if millis % 1000 == 0:
        return millis // 1000
    return float(Decimal(millis) / 1000)


def format_bytes_human(size: int) -> str:
    """For messages: 1073741824 -> ``"1 GiB"``, 1536 -> ``"1.5 KiB"``."""
    amount = Decimal(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            text = f"{amount:.1f}".removesuffix(".0")
            return f"{text} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")
