"""docs/compose.md states, for every Compose key, what Dockyard does; it must say what
the loader does. Its tables are generated from the one table in ``dockyard.client.compose.keys``
and checked here, so docs and behaviour cannot drift apart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.client.compose.keys import SERVICE, TABLES, Handling, keys_markdown

from .helpers import load_doc

DOC = Path(__file__).resolve().parents[3] / "docs" / "compose.md"
MARK = "<!-- generated from client/compose/keys.py -->\n"


def test_docs_tables_match_the_loader() -> None:
    text = DOC.read_text()
    head, sep, _ = text.partition(MARK)
    expected = head + MARK + keys_markdown()
    if os.environ.get("DOCKYARD_WRITE_DOCS") == "1":
        DOC.write_text(expected)
    assert sep, f"{DOC} lacks the marker line {MARK.strip()}"
    assert text == expected, "docs/compose.md is stale: run with DOCKYARD_WRITE_DOCS=1"


def test_the_common_keys_are_applied() -> None:
    common = [
        "logging", "ulimits", "init", "extra_hosts", "tmpfs", "sysctls", "privileged",
        "read_only", "shm_size", "stdin_open", "tty", "platform", "mem_limit", "cpus",
        "pids_limit", "security_opt", "devices", "dns", "labels", "deploy.labels", "ports",
        "volumes", "build", "profiles", "extends",
    ]  # fmt: skip
    assert [k for k in common if SERVICE[k].handling is not Handling.APPLIED] == []


@pytest.mark.parametrize("key", sorted(k for k, v in SERVICE.items() if "." not in k
                                       and v.handling is Handling.REFUSED))  # fmt: skip
def test_every_refused_service_key_says_why(key: str) -> None:
    from dockyard.client.compose import SpecError

    with pytest.raises(SpecError) as caught:
        load_doc({"services": {"web": {"image": "nginx", key: None}}})
    assert f'service "web": "{key}" is not supported by Dockyard: ' in str(caught.value)


@pytest.mark.parametrize("key", sorted(k for k, v in SERVICE.items() if "." not in k
                                       and v.handling is Handling.WARNED))  # fmt: skip
def test_every_warned_service_key_warns(key: str) -> None:
    loaded = load_doc({"services": {"web": {"image": "nginx", key: None}}})
    assert f'service "web": "{key}" {SERVICE[key].note}' in loaded.warnings


def test_tables_cover_each_object() -> None:
    assert list(TABLES) == ["top level", "service", "network", "volume", "secret", "config"]
