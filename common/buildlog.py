"""Building and pushing an image with a Docker Engine: progress lines, the failing step,
the pushed digest.

Why in common: an image is built either by the user's own engine (the CLI) or by a
node's (the agent), and the user must see the same lines and the same one-line failure
either way. ``BuildProgress`` and ``PushProgress`` are pure (the engine's JSON objects
in, words out); ``build_and_push`` drives an engine through the docker SDK client it is
given, and imports nothing of Docker itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_STEP = re.compile(r"^Step (\d+/\d+) : (.*)$")
_BUILT = re.compile(r"^Successfully built ([0-9a-f]+)$")
_MAX_LINE = 300


def one_line(text: str, limit: int = _MAX_LINE) -> str:
    """Text on one line, whitespace folded, cut at ``limit`` characters. Pure."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@dataclass
class BuildProgress:
    """What a build stream said so far: its last step, and its error if any."""

    step: str = ""  # "2/3"
    instruction: str = ""  # "RUN make"
    error: str = ""
    image_id: str = ""
    lines: list[str] = field(default_factory=list)

    def feed(self, item: Any) -> list[str]:
        """Take one item of the engine's build stream; return the lines worth showing."""
        if not isinstance(item, dict):
            return []
        if item.get("error") or item.get("errorDetail"):
            detail = item.get("errorDetail") or {}
            self.error = one_line(str(item.get("error") or detail.get("message") or "failed"))
            return []
        aux = item.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        out = []
        for raw in str(item.get("stream") or "").splitlines():
            line = raw.rstrip()
            if not line.strip():
                continue
            built = _BUILT.match(line.strip())
            if built:
                self.image_id = self.image_id or built.group(1)
            match = _STEP.match(line)
            if match:
                self.step, self.instruction = match.group(1), one_line(match.group(2), 80)
            out.append(one_line(line))
        return out

    def failure(self) -> str:
        """The failure in one line: the failing step, then the engine's words. Pure."""
        where = f"step {self.step} ({self.instruction}): " if self.step else ""
        return f"{where}{self.error or 'the engine ended the build without an image'}"


@dataclass
class PushProgress:
    """What a push stream said so far: layers pushed, the digest, the error."""

    layers: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    digest: str = ""
    error: str = ""

    def feed(self, item: Any) -> str | None:
        """Take one item of the engine's push stream; a line when a layer is done."""
        if not isinstance(item, dict):
            return None
        if item.get("error") or item.get("errorDetail"):
            detail = item.get("errorDetail") or {}
            self.error = one_line(str(item.get("error") or detail.get("message") or "failed"))
            return None
        aux = item.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
        layer = str(item.get("id") or "")
        status = str(item.get("status") or "")
        if not layer or " " in layer or layer.startswith("sha256"):
            return None
        self.layers.add(layer)
        if status in ("Pushed", "Layer already exists", "Mounted from") and layer not in self.done:
            self.done.add(layer)
            return f"pushed {len(self.done)}/{len(self.layers)} layers"
        return None


class BuildFailed(Exception):
    """A build or a push failed; the message is one line."""


def build_and_push(api: Any, *, tar: bytes, dockerfile: str, args: Mapping[str, str],
                   target: str, tag: str, on_line: Callable[[str], None]) -> str:
    """Build the context ``tar`` on the engine behind ``api`` (a docker SDK APIClient),
    tag it ``tag`` (REGISTRY/REPOSITORY:TAG), push it; returns the pushed digest.
    Raises ``BuildFailed`` with one line: the failing step, or the registry's refusal."""
    progress = BuildProgress()
    try:
        stream = api.build(fileobj=io.BytesIO(tar), custom_context=True, tag=tag,
                           dockerfile=dockerfile, buildargs=dict(args) or None,
                           target=target or None, rm=True, forcerm=True, decode=True)
        for item in stream:
            for line in progress.feed(item):
                on_line(line)
    except Exception as exc:  # the engine refused the request itself
        raise BuildFailed(f"build failed: {one_line(str(exc))}") from None
    if progress.error or not progress.image_id:
        raise BuildFailed(f"build failed at {progress.failure()}")
    name, _, version = tag.rpartition(":")
    registry = tag.partition("/")[0]
    pushed = PushProgress()
    try:
        for item in api.push(name, tag=version, stream=True, decode=True):
            layer_line = pushed.feed(item)
            if layer_line:
                on_line(layer_line)
    except Exception as exc:
        raise BuildFailed(f"push to {registry} failed: {one_line(str(exc))}") from None
    if pushed.error or not pushed.digest:
        raise BuildFailed(f"push to {registry} failed: "
                          f"{pushed.error or 'the engine gave no digest'}")
    return pushed.digest
