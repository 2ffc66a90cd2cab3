"""A build context packs the same way every time, its hash follows what the build sees,
and every unusable context is one line naming the service."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.client.build_context import ignored, pack_context
from dockyard.client.builder import by_digest, push_tag, repository
from dockyard.client.errors import CliError
from dockyard.v1 import specs_pb2


def make(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp / "ctx" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp


def members(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return archive.getnames()


def spec(**kw: object) -> specs_pb2.BuildSpec:
    return specs_pb2.BuildSpec(context="ctx", **kw)  # type: ignore[arg-type]


def test_same_folder_same_bytes_and_hash_whatever_the_times(tmp_path: Path) -> None:
    base = make(tmp_path, {"Dockerfile": "FROM x\n", "a/b.txt": "hello"})
    first = pack_context(base, "web", spec())
    os.utime(base / "ctx" / "a" / "b.txt", (1, 1))
    second = pack_context(base, "web", spec())
    assert first.tar == second.tar
    assert first.hash == second.hash
    names = members(first.tar)
    assert names == ["Dockerfile", "a", "a/b.txt"]
    assert first.files == 3


def test_hash_changes_with_content_args_target_and_dockerfile(tmp_path: Path) -> None:
    base = make(tmp_path, {"Dockerfile": "FROM x\n", "other.Dockerfile": "FROM y\n",
                           "page.html": "one"})
    plain = pack_context(base, "web", spec()).hash
    assert pack_context(base, "web", spec(args={"A": "1"})).hash != plain
    assert pack_context(base, "web", spec(target="prod")).hash != plain
    assert pack_context(base, "web", spec(dockerfile="other.Dockerfile")).hash != plain
    (base / "ctx" / "page.html").write_text("two")
    assert pack_context(base, "web", spec()).hash != plain


def test_dockerignore_leaves_files_out_of_the_tar_and_the_hash(tmp_path: Path) -> None:
    base = make(tmp_path, {"Dockerfile": "FROM x\n", ".dockerignore": "*.log\nnode_modules\n",
                           "app.py": "print()"})
    before = pack_context(base, "web", spec())
    make(tmp_path, {"debug.log": "noise", "node_modules/x/y.js": "big"})
    after = pack_context(base, "web", spec())
    assert after.hash == before.hash
    names = members(after.tar)
    assert "debug.log" not in names and not any(n.startswith("node_modules") for n in names)


def test_ignore_rules_last_match_wins_and_cover_folders() -> None:
    assert ignored("build/out.o", ["build"])
    assert ignored("a/b/c.tmp", ["**/*.tmp"])
    assert not ignored("keep.md", ["*.md", "!keep.md"])
    assert ignored("notes.md", ["*.md", "!keep.md"])


@pytest.mark.parametrize(("files", "build", "message"), [
    ({}, spec(), "service web: build context 'ctx': no such folder"),
    ({"x": ""}, specs_pb2.BuildSpec(context="ctx/x"), "service web: build context 'ctx/x' is "
     "not a folder"),
    ({}, specs_pb2.BuildSpec(context="https://example.invalid/repo.git"),
     "is a URL; Dockyard builds from a folder"),
    ({"index.html": ""}, spec(), "service web: no Dockerfile 'Dockerfile' in the build context"),
    ({"Dockerfile": ""}, spec(dockerfile="../Dockerfile"), "must be inside the build context"),
    ({"Dockerfile": "", ".dockerignore": "Dockerfile\n"}, spec(), "no Dockerfile 'Dockerfile'"),
])
def test_unusable_contexts_are_one_line(
    tmp_path: Path, files: dict[str, str], build: specs_pb2.BuildSpec, message: str
) -> None:
    base = make(tmp_path, files) if files else tmp_path
    with pytest.raises(CliError) as err:
        pack_context(base, "web", build)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_registry_names() -> None:
    h = "ab" * 32
    assert repository("shop", "web", "") == "shop/web"
    assert repository("shop", "web", "myorg/web:1.0") == "myorg/web"
    assert repository("shop", "web", "registry.example:5000/team/web") == "team/web"
    assert push_tag("10.0.0.1:5000", "shop", "web", "", h) == f"10.0.0.1:5000/shop/web:{h[:12]}"
    assert by_digest(f"10.0.0.1:5000/shop/web:{h[:12]}", "sha256:" + h) == \
        f"10.0.0.1:5000/shop/web@sha256:{h}"
