"""Removing an app's named volumes from this node, when `delete app --volumes` asks.

The control plane lists, on a session message, the volumes this node is to remove
(complete each time it is sent: an empty list means none). A volume can only go once no container
uses it, and the app's containers stop in reverse dependency order, so the remover
tries every couple of seconds and reports each volume gone (or never here) with
`VolumesRemoved`; the control plane then stops listing it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import grpc

from dockyard.agent.runtime.driver import Driver, DriverError
from dockyard.common.waits import wait_set
from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger(__name__)

_RETRY_S = 2.0


class HasDriver(Protocol):
    @property
    def driver(self) -> Driver: ...


class VolumeRemover:
    """The volumes this node was asked to remove, and the loop that removes them."""

    def __init__(self, runner: HasDriver) -> None:
        self._runner = runner  # its driver is asked only when there is a volume to remove
        self._wanted: dict[str, str] = {}  # "app/volume" -> engine name
        self._changed = asyncio.Event()

    def want(self, msg: dispatcher_pb2.SessionMessage) -> None:
        """Take the complete list a session message carries, if it carries one."""
        if not msg.has_remove_volumes:
            return
        wanted = dict(zip(msg.remove_volumes, msg.volume_names, strict=False))
        if wanted != self._wanted:
            self._wanted = wanted
            self._changed.set()

    async def _remove(self, name: str) -> bool:
        driver = self._runner.driver
        if driver.blocking:
            return await asyncio.to_thread(driver.remove_volume, name)
        return driver.remove_volume(name)

    async def run(self, stub: dispatcher_pb2_grpc.SessionsStub, node: str, sid: str) -> None:
        """Until the session ends: remove what is wanted, report what is gone."""
        while True:
            await wait_set(self._changed, _RETRY_S)
            self._changed.clear()
            gone = []
            for volume, name in list(self._wanted.items()):
                try:
                    if await self._remove(name):
                        gone.append(volume)
                except DriverError as exc:
                    log.warning("cannot remove volume %s: %s; retrying", name, exc)
            if not gone:
                continue
            try:
                await stub.VolumesRemoved(dispatcher_pb2.VolumesRemovedRequest(
                    node=node, session_id=sid, volumes=gone), timeout=5)
            except grpc.aio.AioRpcError as exc:
                log.warning("could not report removed volumes: %s", exc.details())
                continue
            for volume in gone:
                self._wanted.pop(volume, None)
            log.info("removed volumes %s", ", ".join(gone))
