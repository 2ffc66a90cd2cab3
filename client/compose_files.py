"""Find, read and load the Compose files of `dockyard config` and `apply`.

Why apart from the commands: this is the I/O edge of the spec package (which is pure):
which files (``-f``, ``-f -`` for stdin, or ``compose.yaml`` / ``docker-compose.yml``
here plus ``compose.override.yaml``), the size cap while reading, ``.env`` and the
shell's environment, and printing every problem, one line each.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.client.compose import LoadedApp, SpecError, load_app
from dockyard.client.compose.envfile import parse_env_file
from dockyard.client.compose.reader import MAX_FILE_BYTES, check_size
from dockyard.client.control import CliError
from dockyard.common.spec.errors import problem_lines

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = (
    "compose.override.yaml", "compose.override.yml",
    "docker-compose.override.yaml", "docker-compose.override.yml",
)  # fmt: skip


@dataclass(frozen=True)
class ComposeFile:
    """One file to load: its name as the user knows it, and its text."""

    name: str
    text: str


def _read_capped(stream: BinaryIO, name: str) -> str:
    data = stream.read(MAX_FILE_BYTES + 1)
    try:
        check_size(data, where=name)
    except SpecError as exc:
        message = str(exc).replace(f"{name} is {len(data)} bytes", f"{name} is over 1 MiB")
        raise CliError(message) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{name}: the file is not UTF-8 text") from None


def read_compose_file(path: str) -> ComposeFile:
    """``path``'s text, or stdin's for ``-``; capped at 1 MiB."""
    if path == "-":
        return ComposeFile("stdin", _read_capped(sys.stdin.buffer, "stdin"))
    try:
        with open(path, "rb") as stream:
            return ComposeFile(path, _read_capped(stream, path))
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a folder, not a Compose file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}") from None


def choose_files(files: Sequence[str], cwd: Path) -> list[str]:
    """The files to load: those given, else the default file here and its override."""
    if files:
        return list(files)
    for name in DEFAULT_FILES:
        if (cwd / name).is_file():
            stem = name.rpartition(".")[0]
            overrides = [o for o in OVERRIDE_FILES if o.startswith(stem + ".override.")]
            found = [o for o in overrides if (cwd / o).is_file()]
            return [name, *found[:1]]
    raise CliError(
        "no Compose file: pass -f FILE, or run where compose.yaml or docker-compose.yml is"
    )


def compose_base(files: Sequence[str]) -> Path:
    """The folder paths in the app are relative to: the first file's (here for stdin)."""
    cwd = Path.cwd()
    first = choose_files(files, cwd)[0]
    return cwd if first == "-" else (cwd / first).resolve().parent


def _profiles(given: Sequence[str]) -> list[str]:
    if given:
        return [p for value in given for p in value.split(",") if p]
    return [p for p in os.environ.get("COMPOSE_PROFILES", "").split(",") if p]


def load_compose(files: Sequence[str], profiles: Sequence[str] = ()) -> LoadedApp:
    """Read and validate the app; paths in it are relative to the first file's folder.

    Every problem is printed on stderr, one line each (capped), before ``CliError``."""
    paths = choose_files(files, Path.cwd())
    loaded_files = [read_compose_file(path) for path in paths]
    base = compose_base(files)

    def read_file(rel: str) -> bytes:
        target = base / rel
        try:
            size = target.stat().st_size
            if size > MAX_FILE_BYTES:
                raise SpecError(f"cannot read {rel}: it is over 1 MiB")
            return target.read_bytes()
        except OSError as exc:
            raise SpecError(f"cannot read {rel}: {exc.strerror}") from None

    environ: dict[str, str] = {}
    dotenv = base / ".env"
    if dotenv.is_file():
        try:
            environ.update(parse_env_file(dotenv.read_bytes(), where=".env"))
        except (OSError, SpecError) as exc:
            raise CliError(f"{dotenv}: {exc}") from None
    environ.update(os.environ)  # the shell's environment wins over .env, as in Compose
    name = loaded_files[0].name
    try:
        return load_app(
            loaded_files[0].text,
            read_file=read_file,
            default_name=base.name,
            environ=environ,
            overrides=[f.text for f in loaded_files[1:]],
            profiles=_profiles(profiles),
        )
    except SpecError as exc:
        lines = problem_lines(exc)
        if len(exc.problems) == 1:
            raise CliError(f"{name}: {lines[0]}") from None
        for line in lines:
            print(f"error: {name}: {line}", file=sys.stderr)
        raise CliError(f"{name}: {len(exc.problems)} problems; nothing was applied") from None
