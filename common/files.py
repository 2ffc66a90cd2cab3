"""Secrets and configs as both sides name them: which stored object and version a
service's file reference means, and the key a delivered file travels under.

The control plane sends a node each (object, version) its tasks use, once, keyed by
`delivery_key`; the agent mounts the file it wrote under that key, and drops it when no
task on the node names it any more. Both compute the set with `wanted_files`, so they
agree to the byte on what a node needs. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.v1 import objects_pb2, specs_pb2

SECRET = "secret"
CONFIG = "config"
KINDS = (SECRET, CONFIG)


@dataclass(frozen=True, slots=True, order=True)
class Wanted:
    """One version of one stored secret or config that a task mounts."""

    kind: str
    name: str  # the stored object's name: "APP/NAME" or a created one's NAME
    version: int

    @property
    def key(self) -> str:
        return delivery_key(self.kind, self.name, self.version)


def command_of(kind: str) -> str:
    """The CLI command for a kind: `dockyard secret` or `dockyard configs` (`dockyard
    config` prints an app's normalized file)."""
    return "secret" if kind == SECRET else "configs"


def delivery_key(kind: str, name: str, version: int) -> str:
    """'secret/amp/db_password@2': unique per object version, and a relative path."""
    return f"{kind}/{name}@{version}"


def owned_name(app: str, name: str) -> str:
    """The stored name of a secret or config an app's file declares: "APP/NAME"."""
    return f"{app}/{name}"


def object_name(app: str, obj: specs_pb2.FileObject) -> str:
    """The stored object an app-level declaration stands for: a created one for
    `external: true`, else the app's own. Pure."""
    if obj.external:
        return obj.external_name or obj.name
    return owned_name(app, obj.name)


def references(spec: specs_pb2.ServiceSpec) -> Iterable[tuple[str, specs_pb2.FileReference]]:
    """(kind, reference) for every secret and config the service mounts."""
    for ref in spec.secrets:
        yield SECRET, ref
    for ref in spec.configs:
        yield CONFIG, ref


@dataclass(frozen=True, slots=True)
class Ownership:
    """What a reference asks of its file beyond the default (owned by the agent, mode
    0444): Compose's long-syntax `uid`, `gid` and `mode`. None: left as it is."""

    uid: int | None = None
    gid: int | None = None
    mode: int | None = None

    @property
    def suffix(self) -> str:
        """'#999:999:400' (an unset part empty): the mount key's part for it."""
        uid = "" if self.uid is None else str(self.uid)
        gid = "" if self.gid is None else str(self.gid)
        mode = "" if self.mode is None else f"{self.mode:o}"
        return f"#{uid}:{gid}:{mode}"


def ownership(ref: specs_pb2.FileReference) -> tuple[Ownership | None, str]:
    """The ownership `ref` asks for (None: the default), and one line about what cannot
    be applied: a uid or gid that is not a number names a user of the container's own
    /etc/passwd, which the node cannot read. Pure."""
    ids: list[int | None] = []
    bad = []
    for what, text in (("uid", ref.uid), ("gid", ref.gid)):
        if text.isdigit():
            ids.append(int(text))
        else:
            ids.append(None)
            if text:
                bad.append(f"{what} {text!r}")
    owner = Ownership(ids[0], ids[1], ref.mode or None)
    problem = (f"{ref.source}: {' and '.join(bad)} not applied (a number is needed); the "
               "file keeps its default owner") if bad else ""
    return (None if owner == Ownership() else owner), problem


def mount_key(kind: str, ref: specs_pb2.FileReference) -> str:
    """The key of the file a reference mounts: the delivered one, or for a reference
    with its own uid, gid or mode a copy made so on the node (shared by the tasks that
    ask the same). Pure."""
    key = delivery_key(kind, ref.object, ref.version)
    owner, _ = ownership(ref)
    return key if owner is None else key + owner.suffix


def wanted_files(tasks: Iterable[objects_pb2.Task]) -> dict[str, Wanted]:
    """Every object version the given tasks mount, by delivery key. References the
    server has not resolved (no object) are left out. Pure."""
    out: dict[str, Wanted] = {}
    for task in tasks:
        for kind, ref in references(task.spec):
            if ref.object:
                w = Wanted(kind, ref.object, ref.version)
                out[w.key] = w
    return out


def mounted_keys(tasks: Iterable[objects_pb2.Task]) -> set[str]:
    """The mount key of every resolved reference the tasks hold. Pure."""
    return {mount_key(kind, ref) for task in tasks for kind, ref in references(task.spec)
            if ref.object}
