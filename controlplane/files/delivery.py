"""Secrets and configs on their way to a node: each version once per session, and only to
the nodes that run a task using it.

The Sessions service asks `SessionFiles.next(tasks, complete)` before each message to a
node. It answers with the contents of the object versions those tasks mount
(`common.files.wanted_files`) that this session has not sent yet. A complete set starts
over (a new session, or an agent that lost its state), so the agent may drop anything it
holds that no task names. Contents are read from etcd and opened only here, at send time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dockyard.common.files import Wanted, wanted_files
from dockyard.controlplane.files.store import FileStore, FileStoreError
from dockyard.v1 import objects_pb2

log = logging.getLogger("dockyard.files")


def to_send(wanted: dict[str, Wanted], sent: set[str]) -> list[Wanted]:
    """The versions wanted and not yet sent, in a stable order. Pure."""
    return sorted(w for key, w in wanted.items() if key not in sent)


class SessionFiles:
    """What one session has sent of secrets and configs."""

    def __init__(self, files: FileStore) -> None:
        self._files = files
        self._sent: set[str] = set()

    async def next(self, tasks: Iterable[objects_pb2.Task], *, complete: bool
                   ) -> dict[str, bytes]:
        """Contents to put in the next message, by delivery key."""
        if complete:
            self._sent = set()
        wanted = wanted_files(tasks)
        out: dict[str, bytes] = {}
        for w in to_send(wanted, self._sent):
            file = await self._files.read(w.kind, w.name)
            if file is None or file.version != w.version:
                # Gone or replaced: the task is being replaced too; its agent reports it.
                continue
            try:
                out[w.key] = self._files.content(file)
            except FileStoreError as exc:
                log.error("%s", exc)
                continue
            self._sent.add(w.key)
        self._sent &= set(wanted)
        return out
