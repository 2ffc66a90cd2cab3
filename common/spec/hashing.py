"""The one hash of a spec: sha256 of its deterministic protobuf encoding.

The loader prints it (`dockyard config`) and the server stores it on every app and
service, so that "changed or not" is one comparison on both sides. Pure.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class Serializable(Protocol):
    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...


def spec_hash(message: Serializable) -> str:
    """sha256 hex of the deterministic serialization: equal specs, equal hashes."""
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()
