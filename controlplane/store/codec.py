"""Stored objects to bytes and back. Pure functions: no I/O.

Objects are stored as protobuf in binary form. `version` in an object's Meta is never
stored: it is the key's etcd mod revision, filled in on read.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def encode(message: Message) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


def decode(cls: type[M], data: bytes, *, version: int = 0) -> M:
    message: M = cls()
    message.ParseFromString(data)
    if version and hasattr(message, "meta"):
        message.meta.version = version
    return message


