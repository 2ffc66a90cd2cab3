"""The layers, checked on the sources: the daemons never import the command, the testbed
or each other, and pyproject.toml lists every package folder under its namespace."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder -> the dockyard subpackages it must never import
FORBIDDEN = {
    "controlplane": ("dockyard.agent", "dockyard.deploy", "dockyard.cli", "dockyard.client"),
    "agent": ("dockyard.controlplane", "dockyard.deploy", "dockyard.cli", "dockyard.client"),
    "client": ("dockyard.controlplane", "dockyard.agent", "dockyard.deploy", "dockyard.cli"),
    "common": ("dockyard.controlplane", "dockyard.agent", "dockyard.client", "dockyard.deploy",
               "dockyard.cli"),
    "deploy": ("dockyard.cli",),
}


def imported(path: Path) -> list[str]:
    """Every absolute module name a file imports. Pure."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def offenders(folder: str) -> list[str]:
    bad = FORBIDDEN[folder]
    return [f"{p.relative_to(ROOT)} imports {name}"
            for p in sorted((ROOT / folder).rglob("*.py"))
            for name in imported(p)
            if any(name == b or name.startswith(b + ".") for b in bad)]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_arrow_runs_up_or_sideways(folder: str) -> None:
    assert offenders(folder) == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from dockyard.agent import runner\nimport dockyard.deploy.testbed\n")
    assert imported(sample) == ["dockyard.agent", "dockyard.deploy.testbed"]


def test_every_package_folder_is_installed_under_dockyard() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs: dict[str, str] = cfg["package-dir"]
    listed = set(cfg["packages"])
    assert all(name == "dockyard" or name.startswith("dockyard.") for name in listed)
    expected = set()
    for pkg, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if pkg == "dockyard" and rel.parts and rel.parts[0] != "v1":
                continue
            expected.add(".".join((pkg, *rel.parts)))
    assert expected - listed == set(), "add these to [tool.setuptools] packages"
