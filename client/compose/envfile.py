"""``.env`` and ``env_file`` files: ``KEY=VALUE`` lines, as Compose's dotenv reader
understands them. Pure: it parses bytes it is given."""

from __future__ import annotations

from dockyard.common.spec.errors import SpecError, show


def parse_env_file(data: bytes, *, where: str) -> dict[str, str]:
    """``K=V`` lines; blank lines and ``#`` comments are skipped; ``export`` and quotes
    are understood as Compose's dotenv reader does; ``K`` alone maps to ""."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(f"{where}: the file is not UTF-8 text") from None
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not key or any(ch.isspace() for ch in key):
            raise SpecError(f"{where}: line {number}: expected KEY=VALUE, got {show(raw)}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        result[key] = value if sep else ""
    return result
