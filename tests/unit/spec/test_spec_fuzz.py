"""The fuzz target of the Compose loader, run in CI with a bounded budget.

Whatever the files, ``load_app`` returns an app or raises a ``SpecError`` whose every
problem is one line; never another exception, never a hang. Inputs are drawn from the
key table (so nested keys such as ``deploy.update_config.delay`` are reached), from
YAML with anchors, aliases and merge keys, and from several files at once (overrides,
``include``, ``extends``, profiles). ``FUZZ_EXAMPLES`` sets the budget per target
(default 120); a deadline of a minute per example tells a hang from a loaded machine.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.client.compose import SpecError, load_app
from dockyard.client.compose.keys import CONFIG, NETWORK, SECRET, SERVICE, TOP_LEVEL, VOLUME

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
    deadline=timedelta(seconds=60),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True), st.text(max_size=10),
    st.sampled_from(["8080:80", "1000-1010:1000-1010", "1m", "512m", "host", "/", "./x",
                     "/var/run/docker.sock:/s", "data:/d:ro,z", "${X:-y}", "$$", "${", "a=b",
                     "CMD", "linux/amd64", "db", "web", "*", "0440", "-1"]),
)  # fmt: skip


def _children(prefix: str, table: dict[str, Any]) -> list[str]:
    depth = prefix.count(".") + 1 if prefix else 0
    return sorted({
        key.split(".")[depth] for key in table
        if key.startswith(prefix) and key.count(".") >= depth
    })  # fmt: skip


def _tree(prefix: str, table: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    """A value shaped by the table: mappings whose keys are the table's keys below
    ``prefix`` (plus a stranger), leaves of any type."""
    names = [*_children(prefix, table), "bogus", "x-ext"]
    if depth == 0:
        return _scalars
    nested = st.deferred(lambda: st.one_of(
        _scalars,
        st.lists(_tree(prefix, table, depth - 1), max_size=3),
        st.dictionaries(st.sampled_from(names),
                        st.one_of(_scalars, _tree(prefix, table, depth - 1)), max_size=4),
    ))  # fmt: skip
    return nested


def _service() -> st.SearchStrategy[dict[str, Any]]:
    keys = [k for k in SERVICE if "." not in k] + ["bogus"]
    return st.dictionaries(
        st.sampled_from(keys),
        st.one_of(_scalars, _tree("", SERVICE, 2)),
        max_size=6,
    ).map(lambda body: {"image": "nginx", **body})


def _objects(table: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(["data", "pw", "front", "Bad name"]),
        st.one_of(st.none(), st.dictionaries(st.sampled_from([*table, "bogus"]), _scalars,
                                             max_size=3)),
        max_size=2,
    )  # fmt: skip


_documents = st.fixed_dictionaries(
    {"services": st.dictionaries(st.sampled_from(["web", "db", "Web", "x"]), _service(),
                                 min_size=1, max_size=3)},
    optional={
        "volumes": _objects(VOLUME), "networks": _objects(NETWORK),
        "secrets": _objects(SECRET), "configs": _objects(CONFIG),
        "name": _scalars, "include": st.lists(st.sampled_from(["other.yaml", "nope.yaml"]),
                                              max_size=2),
        "x-dockyard": _tree("", {"strategy": 1, "max_per_node": 1}, 1),
        "bogus": _scalars, **{k: _scalars for k in TOP_LEVEL if k in ("version", "models")},
    },
)  # fmt: skip

OTHER = b"services:\n  other: {image: busybox, profiles: [p]}\n  base: {image: nginx}\n"


def _read(path: str) -> bytes:
    if path in ("other.yaml", "./x"):
        return OTHER
    raise FileNotFoundError(2, "No such file or directory", path)


def _outcome(text: str, *, overrides: tuple[str, ...] = (), profiles: tuple[str, ...] = ()) -> None:
    try:
        load_app(text, read_file=_read, default_name="fuzz", environ={"X": "1"},
                 overrides=overrides, profiles=profiles)  # fmt: skip
    except SpecError as exc:
        assert exc.problems
        for line in (str(exc), *exc.problems):
            assert line and "\n" not in line, line


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, width=10_000)


@FUZZ
@given(_documents)
def test_documents_from_the_key_table(document: dict[str, Any]) -> None:
    _outcome(_dump(document))


@FUZZ
@given(_documents, _documents, st.lists(st.sampled_from(["p", "debug", "*"]), max_size=2))
def test_several_files_and_profiles(
    first: dict[str, Any], second: dict[str, Any], profiles: list[str]
) -> None:
    _outcome(_dump(first), overrides=(_dump(second),), profiles=tuple(profiles))


_ALIASED = st.lists(
    st.sampled_from([
        "x-a: &a {image: nginx, environment: [A=1]}\n", "x-b: &b [*a, *a, *a]\n",
        "x-c: &c [*b, *b, *b, *b]\n", "services:\n", "  web: *a\n", "  db: {<<: *a}\n",
        "  s: {<<: [*a], extends: web}\n", "  r: &r {image: x, labels: *r}\n",
        "  e: {extends: {file: other.yaml, service: base}}\n", "include: [other.yaml]\n",
        "  p: {image: x, ports: ['1-65535:1-65535']}\n", "x-d: *c\n", "  t: {image: *a}\n",
    ]),
    max_size=12,
).map("".join)  # fmt: skip


@FUZZ
@given(_ALIASED)
def test_anchors_aliases_and_merges(text: str) -> None:
    _outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    _outcome(data.decode("utf-8", "replace"))
