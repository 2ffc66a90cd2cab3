"""A CLI call is quick only if its start-up imports little: the commands' parser, built
whole for `--help` and `--version`, must not bring gRPC or numpy (the scheduler's).
Checked in a fresh interpreter, since this one has imported everything already."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from dockyard.cli.main import build_parser
build_parser({word!r})
print(" ".join(m for m in ("grpc", "numpy", "networkx", "yaml") if m in sys.modules))
"""


@pytest.mark.parametrize("word", ["", "get", "exec", "history", "secret", "volume"])
def test_building_the_parser_imports_no_heavy_library(word: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE.format(word=word)],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == [], f"parser for {word or 'every command'} imported {out.stdout}"
