"""The checked-in generated code matches the .proto files (`make proto` regenerates it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
GENERATED = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    sources = sorted((PROTO / "dockyard" / "v1").glob("*.proto"))
    assert sources, "no .proto files found"
    with_grpc = [str(p) for p in sources if p.stem in ("control", "dispatcher")]
    plain = [str(p) for p in sources if p.stem not in ("control", "dispatcher")]
    base = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO}",
            f"--python_out={tmp_path}", f"--pyi_out={tmp_path}"]
    subprocess.run([*base, *plain], check=True)
    subprocess.run([*base, f"--grpc_python_out={tmp_path}", *with_grpc], check=True)
    out = tmp_path / "dockyard" / "v1"
    fresh = sorted(p for p in out.iterdir() if p.name.endswith(GENERATED))
    assert fresh
    for new in fresh:
        old = PROTO / "dockyard" / "v1" / new.name
        assert old.exists(), f"{old.name} is missing: run `make proto`"
        assert old.read_text() == new.read_text(), f"{old.name} is stale: run `make proto`"
