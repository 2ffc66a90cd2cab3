"""Hostile Compose files: each is refused with one line, without a blow-up in memory or
time. Outcomes only; how fast it is belongs to the loader's design
(expanded-size bound, linear port checks), not to these assertions."""

from __future__ import annotations

import pytest

from dockyard.client.compose import SpecError, load_app
from dockyard.client.compose.reader import MAX_FILE_BYTES

from .helpers import read_file


def _load(text: str) -> None:
    load_app(text, read_file=read_file, default_name="hostile", environ={})


def _laughs(levels: int) -> str:
    lines = ['x-0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"x-{level}: &l{level} [{refs}]")
    lines.append("services: {web: {image: nginx, environment: {A: '${A:-x}'}}}")
    return "\n".join(lines)


def test_billion_laughs_is_one_line() -> None:
    with pytest.raises(SpecError) as caught:
        _load(_laughs(9))
    assert str(caught.value) == (
        "malformed YAML: aliases expand to more than 200000 values (a billion-laughs file?)"
    )


def test_merge_key_laughs_is_refused_too() -> None:
    lines = ["x-0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for level in range(1, 9):
        keys = ", ".join(f"k{i}: *m{level - 1}" for i in range(8))
        lines.append(f"x-{level}: &m{level} {{{keys}}}")
    lines.append("services: {web: {image: nginx, labels: {<<: *m8}}}")
    with pytest.raises(SpecError, match="aliases expand to more than"):
        _load("\n".join(lines))


def test_a_few_aliases_are_fine() -> None:
    text = (
        "x-env: &env {A: '1', B: '2'}\n"
        "services:\n"
        "  web: {image: nginx, environment: *env}\n"
        "  api: {image: nginx, environment: {<<: *env, C: '3'}}\n"
    )
    load_app(text, read_file=read_file, default_name="fine")


@pytest.mark.parametrize("text", ["a: &a [*a]\nservices: {}", "a: &a {b: *a}\nservices: {}"])
def test_recursive_alias_is_refused(text: str) -> None:
    with pytest.raises(SpecError) as caught:
        _load(text)
    assert str(caught.value) == "malformed YAML: an alias refers to a value that contains it"


def test_oversized_file_is_refused_before_parsing() -> None:
    text = "services: {web: {image: nginx}}\n" + "#" * MAX_FILE_BYTES
    with pytest.raises(SpecError) as caught:
        _load(text)
    assert str(caught.value) == (
        f"the file is {len(text)} bytes; a Compose file may be at most 1048576 bytes (1 MiB)"
    )


def test_wide_port_range_is_accepted_and_clashes_are_found() -> None:
    loaded = load_app(
        "services: {web: {image: nginx, ports: ['1000-60000:1000-60000']}}",
        read_file=read_file, default_name="ports",
    )
    assert len(loaded.spec.services[0].ports) == 59001
    with pytest.raises(SpecError, match="host port 59999/tcp is published by both web and api"):
        _load(
            "services:\n"
            "  web: {image: nginx, ports: ['1000-60000:1000-60000']}\n"
            "  api: {image: nginx, ports: ['59999:80']}\n"
        )


def test_including_one_file_over_and_over_is_bounded() -> None:
    files = {"big.yaml": b"services: {cache: {image: redis}}\n"}
    text = "include: [" + ", ".join(["big.yaml"] * 150) + "]\nservices: {web: {image: nginx}}"
    with pytest.raises(SpecError) as caught:
        load_app(text, read_file=files.__getitem__, default_name="x", environ={})
    assert str(caught.value) == (
        'include/extends read more than 100 files; "big.yaml" is one too many'
    )
