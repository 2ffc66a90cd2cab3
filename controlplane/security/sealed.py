"""The cluster CA's key, encrypted at rest in etcd with a key kept on the server's disk.

Anyone who reads etcd (a backup, a snapshot, a stolen disk of an etcd member) would
otherwise hold the key that mints admin certificates. So `/dockyard/cluster/ca-key`
holds `dyk1:` + key id + nonce + AES-256-GCM ciphertext, and the 32-byte key-encryption
key (KEK) lives only in a file on each control-plane host (`--kek-file`, default
DATA_DIR/kek, mode 0600). Its id (the first 8 bytes of its SHA-256) is stored beside the
ciphertext, so a server with the wrong file says so instead of failing obscurely.

A KEK is made only when no encrypted key exists yet; a missing or wrong file with an
encrypted key in etcd stops the server with one line (`SealError`), never a new key
over existing data. `seal`/`unseal` are pure; `load_kek`/`create_kek` touch the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"dyk1:"
KEY_BYTES = 32
_ID_BYTES = 8
_NONCE_BYTES = 12


class SealError(Exception):
    """The sealed CA key cannot be opened, or the key file is unusable: one line."""


def key_id(kek: bytes) -> bytes:
    """A short public name of a KEK. Pure."""
    return hashlib.sha256(kek).digest()[:_ID_BYTES]


def is_sealed(value: bytes) -> bool:
    return value.startswith(MAGIC)


def seal(kek: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """`plaintext` encrypted under `kek`, bound to `aad` (the etcd key). Pure but for the
    random nonce."""
    nonce = os.urandom(_NONCE_BYTES)
    return MAGIC + key_id(kek) + nonce + AESGCM(kek).encrypt(nonce, plaintext, aad)


def unseal(kek: bytes, sealed: bytes, *, aad: bytes, kek_path: Path,
           what: str = "the cluster CA key") -> bytes:
    """The plaintext of `seal`'s output; SealError naming the key file when it is not the
    key it was sealed with. `what` names the value in that line. Pure."""
    body = sealed[len(MAGIC):]
    stored_id, nonce, ciphertext = (body[:_ID_BYTES], body[_ID_BYTES:_ID_BYTES + _NONCE_BYTES],
                                    body[_ID_BYTES + _NONCE_BYTES:])
    if stored_id != key_id(kek):
        raise SealError(f"{what} in etcd is encrypted with key {stored_id.hex()}, "
                        f"but {kek_path} holds key {key_id(kek).hex()}: use the key file of "
                        f"this cluster (another replica's --kek-file)")
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise SealError(f"{what} in etcd does not decrypt with {kek_path}: "
                        f"the stored value is damaged") from None


def load_kek(path: Path) -> bytes | None:
    """The KEK in `path` (base64 of 32 bytes), or None if there is no such file."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SealError(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        kek = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        kek = b""
    if len(kek) != KEY_BYTES:
        raise SealError(f"{path} is not a key file (want base64 of {KEY_BYTES} bytes)")
    return kek


def create_kek(path: Path) -> bytes:
    """A new KEK written to `path` (mode 0600), or the one already there: never over an
    existing file. The file appears whole (written aside, then linked), so replicas
    starting together all end up with the one that won."""
    kek = os.urandom(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(kek).decode() + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        existing = load_kek(path)
        if existing is None:
            raise SealError(f"{path} vanished while being created") from None
        return existing
    finally:
        tmp.unlink(missing_ok=True)
    return kek
