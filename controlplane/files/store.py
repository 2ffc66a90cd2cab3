"""Secrets and configs in etcd: read, seal, open. The only place that holds the data key.

A secret's content is sealed (AES-256-GCM, controlplane/security/sealed.py) under the
cluster's data key, bound to its etcd key and version, so a ciphertext copied to another
key or version does not open. Configs are stored plain. What leaves this module toward
readers (`public`) never holds content; only `content` opens it, for delivery to nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.common.files import SECRET
from dockyard.controlplane.files.plan import AppFiles, Ref, Write, digest, plan_app, refs_of
from dockyard.controlplane.security import sealed
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import decode, encode
from dockyard.controlplane.store.etcd import EtcdStore
from dockyard.v1 import objects_pb2, specs_pb2


class FileStoreError(Exception):
    """A stored secret cannot be opened: one line."""


@dataclass(slots=True)
class PreparedFiles:
    """An apply's part for secrets and configs: its plan, plus the compares, writes and
    deletes to add to the apply's own transaction."""

    plan: AppFiles
    expect: dict[str, int] = field(default_factory=dict)
    puts: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


def public(file: objects_pb2.StoredFile) -> objects_pb2.StoredFile:
    """A copy without the content: what readers get. Pure."""
    out = objects_pb2.StoredFile()
    out.CopyFrom(file)
    out.data = b""
    return out


def _aad(kind: str, name: str, version: int) -> bytes:
    return f"{keys.file_key(kind, name)}@{version}".encode()


class FileStore:
    def __init__(self, store: EtcdStore, data_key: bytes | None) -> None:
        self._store = store
        self._key = data_key

    async def read(self, kind: str, name: str) -> objects_pb2.StoredFile | None:
        entry = await self._store.get(keys.file_key(kind, name))
        if entry is None:
            return None
        return decode(objects_pb2.StoredFile, entry.value, version=entry.mod_revision)

    async def read_many(self, refs: Iterable[Ref]) -> dict[Ref, objects_pb2.StoredFile]:
        out = {}
        for kind, name in sorted(set(refs)):
            file = await self.read(kind, name)
            if file is not None:
                out[(kind, name)] = file
        return out

    async def list(self, kind: str) -> list[objects_pb2.StoredFile]:
        entries, _ = await self._store.get_prefix(keys.FILES[kind])
        return [decode(objects_pb2.StoredFile, e.value, version=e.mod_revision)
                for e in entries]

    def stored_value(self, write: Write, old: objects_pb2.StoredFile | None,
                     now_ms: int) -> objects_pb2.StoredFile:
        """The object to store for `write`: content sealed when it is a secret."""
        file = objects_pb2.StoredFile(kind=write.kind, app=write.app, version=write.version,
                                      digest=digest(write.data), size=len(write.data))
        file.meta.id = write.name
        file.meta.created_ms = old.meta.created_ms if old is not None else now_ms
        file.meta.updated_ms = now_ms
        if write.kind == SECRET:
            if self._key is None:
                raise FileStoreError("this server has no data key for secrets")
            file.data = sealed.seal(self._key, write.data,
                                    aad=_aad(write.kind, write.name, write.version))
        else:
            file.data = write.data
        return file

    def content(self, file: objects_pb2.StoredFile) -> bytes:
        """The plaintext of a stored object; FileStoreError when a secret does not open."""
        if file.kind != SECRET:
            return file.data
        if self._key is None or not sealed.is_sealed(file.data):
            raise FileStoreError(f"secret {file.meta.id!r} cannot be opened here")
        try:
            return sealed.unseal(self._key, file.data,
                                 aad=_aad(file.kind, file.meta.id, file.version),
                                 kek_path=Path(keys.file_key(file.kind, file.meta.id)))
        except sealed.SealError:
            raise FileStoreError(f"secret {file.meta.id!r} does not open with this cluster's "
                                 "data key") from None

    async def prepare_apply(self, spec: specs_pb2.AppSpec, previous: specs_pb2.AppSpec | None,
                            *, now_ms: int) -> PreparedFiles:
        """Plan the app's secrets and configs against what is stored, and turn the plan
        into transaction parts. Nothing is written here."""
        refs = refs_of(spec) | (refs_of(previous) if previous is not None else set())
        stored = await self.read_many(refs)
        plan = plan_app(spec, stored, previous=previous)
        prepared = PreparedFiles(plan)
        if plan.problem:
            return prepared
        for ref in refs_of(plan.spec):
            old = stored.get(ref)
            prepared.expect[keys.file_key(*ref)] = old.meta.version if old is not None else 0
        for write in plan.writes:
            old = stored.get((write.kind, write.name))
            value = self.stored_value(write, old, now_ms)
            prepared.puts[keys.file_key(write.kind, write.name)] = encode(value)
        for kind, name in plan.deletes:
            prepared.deletes.append(keys.file_key(kind, name))
        return prepared
