"""YAML parsing and typed access to the parsed tree, with one-line errors.

Why: PyYAML raises its own exceptions and silently keeps the last of two equal keys;
and the parsed tree can hold any type anywhere. These helpers turn both into
``SpecError`` so the rest of the package can assume the types it asks for. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import yaml

from dockyard.common.spec.errors import SpecError, kind, show

Mapping = dict[str, Any]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that reads scalars as Compose (YAML 1.2, go-yaml) does.

    It refuses a key written twice in one mapping (merge keys aside), and it resolves
    only ``true``/``false`` as booleans and plain decimal, octal (``0440``) or hex
    numbers as integers: ``restart: no`` stays the string "no" and ``- 22:22`` stays a
    port mapping instead of YAML 1.1's base-60 number 1342.
    """


_OVERRIDDEN_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",  # dates stay strings, as in Compose
}
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _OVERRIDDEN_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0[0-7]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            raise SpecError(
                f"malformed YAML at line {key_node.start_mark.line + 1}: "
                "a mapping key must be a plain value"
            ) from None
        if duplicate:
            raise SpecError(
                f"malformed YAML at line {key_node.start_mark.line + 1}: "
                f"key {show(key)} is written twice"
            )
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# A Compose file is a few KiB; 1 MiB leaves room for generated files and stops a
# hostile one before parsing (docs/limits.md).
MAX_FILE_BYTES = 1024 * 1024
# Values after alias expansion. YAML aliases share nodes, so a small file can stand for
# an exponentially large tree ("billion laughs"); everything after parsing (interpolation,
# merging, checks) walks the expanded tree, so its size is what must be bounded.
MAX_EXPANDED_NODES = 200_000


def check_size(data: str | bytes, *, where: str = "the file") -> None:
    """Refuse a file over ``MAX_FILE_BYTES`` before it is parsed. Pure."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_FILE_BYTES:
        raise SpecError(
            f"{where} is {size} bytes; a Compose file may be at most "
            f"{MAX_FILE_BYTES} bytes (1 MiB)"
        )


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the tree under ``root`` has once every alias is expanded.

    Linear in the number of distinct nodes: each node's expanded size is computed once
    (aliases point at the same node object). Stops as soon as the bound is passed.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (node, children pushed?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in sizes and not expanded:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if not expanded:
            if key in on_path:
                raise SpecError("malformed YAML: an alias refers to a value that contains it")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            for child in children:
                if id(child) in on_path:
                    raise SpecError(
                        "malformed YAML: an alias refers to a value that contains it"
                    )
            continue
        on_path.discard(key)
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_EXPANDED_NODES:
            raise SpecError(
                f"malformed YAML: aliases expand to more than {MAX_EXPANDED_NODES} values "
                "(a billion-laughs file?)"
            )
        sizes[key] = total
    return sizes.get(id(root), 0)


def parse_yaml(text: str) -> Any:
    """The YAML document in ``text``; ``SpecError`` with the line number when malformed.

    Refuses files over ``MAX_FILE_BYTES`` and documents whose aliases expand to more
    than ``MAX_EXPANDED_NODES`` values, before anything is built from them.
    """
    check_size(text)
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except SpecError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"malformed YAML{at}: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}") from None
    except RecursionError:
        raise SpecError("malformed YAML: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise SpecError(f"malformed YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def mapping(value: Any, *, where: str, allow_null: bool = False) -> Mapping:
    """``value`` as a mapping with string keys; null gives {} when allowed."""
    if value is None and allow_null:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping, got {kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise SpecError(f"{where}: key {show(key)} must be a string")
    return value


def string(value: Any, *, where: str) -> str:
    """A string; numbers are accepted and written as YAML would show them."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise SpecError(f"{where}: expected a string, got {kind(value)}")


def scalar_text(value: Any, *, where: str) -> str:
    """A scalar as environment-style text: null -> "", true -> "true", 1.5 -> "1.5"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise SpecError(f"{where}: expected a string, number or boolean, got {kind(value)}")


def boolean(value: Any, *, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"{where}: expected true or false, got {show(value)}")


def integer(value: Any, *, where: str, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
    """A whole number in [minimum, maximum]; numeric strings like "3" are accepted."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None:
        raise SpecError(f"{where}: expected a whole number, got {show(value)}")
    if number < minimum:
        if minimum == 0:
            raise SpecError(f"{where}: must not be negative, got {number}")
        raise SpecError(f"{where}: must be at least {minimum}, got {number}")
    if number > maximum:
        raise SpecError(f"{where}: must be at most {maximum}, got {number}")
    return number


def octal_mode(value: Any, *, where: str) -> int:
    """File permission bits: ``"0440"`` is octal, a YAML number is taken as it is."""
    if isinstance(value, str):
        if not value or not set(value) <= set("01234567"):
            raise SpecError(f"{where}: {show(value)} is not an octal mode like 0440")
        value = int(value, 8)
    return integer(value, where=where, maximum=0o7777)


def items(value: Any, *, where: str) -> list[tuple[str, Any]]:
    """A list's items, each with its own path (``where[i]``) for messages."""
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected a list, got {kind(value)}")
    return [(f"{where}[{index}]", item) for index, item in enumerate(value)]


def string_list(value: Any, *, where: str, allow_single: bool = False) -> list[str]:
    """A list of strings; a single string is a one-item list when ``allow_single``."""
    if isinstance(value, str) and allow_single:
        return [value]
    if not isinstance(value, list):
        expected = "a string or a list" if allow_single else "a list"
        raise SpecError(f"{where}: expected {expected}, got {kind(value)}")
    return [string(item, where=f"{where}[{index}]") for index, item in enumerate(value)]


def check_keys(value: Mapping, *, where: str, allowed: set[str] | dict[str, Any]) -> None:
    """Refuse keys outside ``allowed``; ``x-*`` extension keys are always allowed.

    The message names the whole key path: ``service "web": unknown key "deploy.labels"``
    when ``where`` is ``service "web": deploy``.
    """
    for key in value:
        if key not in allowed and not key.startswith("x-"):
            head, sep, path = where.rpartition(": ")
            if sep:
                raise SpecError(f"{head}: unknown key {show(path + '.' + key)}")
            raise SpecError(f"{where}: unknown key {show(key)}")


def key_value_pairs(value: Any, *, where: str) -> dict[str, str]:
    """``["K=V", "K"]`` or ``{K: V}`` -> {K: V}; a key without a value maps to ""."""
    result: dict[str, str] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            text = string(item, where=f"{where}[{index}]")
            key, _, val = text.partition("=")
            if not key:
                raise SpecError(f"{where}[{index}]: {show(text)} has no name before '='")
            result[key] = val
        return result
    if isinstance(value, dict):
        for key, val in value.items():
            if not isinstance(key, str | int | float) or isinstance(key, bool):
                raise SpecError(f"{where}: key {show(key)} must be a string")
            result[str(key)] = scalar_text(val, where=f"{where}.{key}")
        return result
    raise SpecError(f"{where}: expected a list or a mapping, got {kind(value)}")


ReadFile = Callable[[str], bytes]


def read_text(read_file: ReadFile, path: str, *, where: str) -> bytes:
    """Call the injected file reader, turning any failure into a ``SpecError``."""
    try:
        data = read_file(path)
    except Exception as exc:  # the reader is caller-supplied; any failure is bad input
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise SpecError(f"{where}: cannot read {show(path)}: {reason}") from None
    if not isinstance(data, bytes):
        raise SpecError(f"{where}: reading {show(path)} gave {kind(data)}, not bytes")
    return data


_RESOLVER = _StrictLoader("")  # only its resolve() is used: pure, no stream read


@functools.lru_cache(maxsize=4096)
def strict_loader_resolves_to_str(text: str) -> bool:
    """Whether ``text`` written as a plain scalar would load back as a string."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    return bool(tag == "tag:yaml.org,2002:str")
