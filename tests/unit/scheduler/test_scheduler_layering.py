"""scheduler/ is pure: it must not import I/O layers (grpc, etcd, docker) or its callers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "scheduler"
FORBIDDEN = ("grpc", "aetcd", "etcd", "etcd3", "pyetcd", "docker", "dockyard.controlplane",
             "dockyard.agent", "dockyard.client", "dockyard.deploy", "dockyard.cli")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for item in ast.walk(tree):
        if isinstance(item, ast.Import):
            names.extend(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
            names.append(item.module)
        elif isinstance(item, ast.Call) and getattr(item.func, "id", "") == "__import__":
            names.extend(
                arg.value
                for arg in item.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return names


def test_package_has_files() -> None:
    assert (PACKAGE / "__init__.py").is_file()


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("**/*.py")), ids=lambda p: p.name)
def test_no_forbidden_imports(path: Path) -> None:
    bad = [
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
        or name.split(".")[0].startswith("grpc")
    ]
    assert bad == [], f"{path.name} imports {bad}"


def test_scanner_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import grpc\nfrom dockyard.controlplane.store import x\nimport docker.errors\n")
    assert _imports(sample) == ["grpc", "dockyard.controlplane.store", "docker.errors"]
