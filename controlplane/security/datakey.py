"""The data key that encrypts secrets in etcd, itself sealed with the server's KEK.

Secrets are encrypted with AES-256-GCM under one random 32-byte data key (DEK). The DEK is
stored in etcd (`/dockyard/cluster/data-key`) sealed with the key-encryption key in the
server's data directory (`--kek-file`, default DATA_DIR/kek, mode 0600), the same file
that seals the cluster CA's key (sealed.py). Reading etcd alone (a backup, a member's
data files) therefore yields no secret: it takes the KEK file from a control-plane host.

The rules are sealed.py's: a DEK is made only while no secret is stored; a missing or
wrong KEK file with a stored DEK stops the server with one line (`SealError`); a stored
secret with no DEK left is reported, never answered with a new key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dockyard.controlplane.security import sealed
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.etcd import Commit, EtcdStore

log = logging.getLogger("dockyard.security")

DATA_KEY_KEY = keys.cluster_key("data-key")
_WHAT = "the secrets' data key"


async def new_kek(store: EtcdStore, kek_path: Path) -> bytes:
    """A new KEK file (or the one a replica starting beside this one just made), unless
    a sealed data key exists: that one would never open again (SealError)."""
    if await store.get(DATA_KEY_KEY) is not None:
        raise sealed.SealError(
            f"{_WHAT} in etcd is encrypted and its key file {kek_path} is missing: "
            "restore it from a backup or another replica (--kek-file)")
    return sealed.create_kek(kek_path)


async def ensure_data_key(store: EtcdStore, kek_path: Path) -> bytes:
    """The cluster's DEK, unsealed with the KEK in `kek_path`; made and stored now when
    there is none and no secret exists. SealError (one line) otherwise."""
    aad = DATA_KEY_KEY.encode()
    for _ in range(5):
        entry = await store.get(DATA_KEY_KEY)
        kek = sealed.load_kek(kek_path)
        if entry is not None:
            if kek is None:
                kek = await new_kek(store, kek_path)  # refused: the data key is there
            return sealed.unseal(kek, entry.value, aad=aad, kek_path=kek_path, what=_WHAT)
        stored, _ = await store.get_prefix(keys.FILES["secret"])
        if stored:
            raise sealed.SealError(
                f"etcd holds {len(stored)} encrypted secret(s) but {_WHAT} "
                f"({DATA_KEY_KEY}) is gone: restore etcd from a backup; a new key would "
                "not open them")
        kek = kek or sealed.create_kek(kek_path)
        dek = os.urandom(sealed.KEY_BYTES)
        commit = Commit(expect={DATA_KEY_KEY: 0},
                        puts={DATA_KEY_KEY: sealed.seal(kek, dek, aad=aad)})
        if await store.commit(commit):
            log.info("created %s; it is encrypted with %s", _WHAT, kek_path)
            return dek
    raise RuntimeError(f"{_WHAT} kept changing in etcd")
