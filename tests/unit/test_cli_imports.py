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


TARGET_PROBE = """
import argparse, os, sys
os.environ.update(DOCKYARD_SERVER="127.0.0.1:7070", DOCKYARD_CREDENTIALS="/keys/admin.pem")
from dockyard.cli import commands
from dockyard.cli.dispatch import resolve_target
from dockyard.cli.main import build_parser
args = build_parser("get").parse_args(["get", "tasks"])
resolve_target(args)
assert (args.server, str(args.credentials)) == ("127.0.0.1:7070", "/keys/admin.pem")
print(" ".join(m for m in sys.modules if m.split(".")[0] in ("numpy", "networkx", "yaml", "docker")
               or m.startswith(("dockyard.controlplane", "dockyard.cli.contexts",
                                "dockyard.agent", "dockyard.deploy", "dockyard.scheduler"))))
"""


def test_a_read_with_its_target_in_the_environment_imports_only_the_client() -> None:
    """`get`, with DOCKYARD_SERVER and DOCKYARD_CREDENTIALS set: no contexts file, no
    server settings, no YAML, Compose graph, Docker or scheduler."""
    out = subprocess.run([sys.executable, "-c", TARGET_PROBE], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.split() == []
