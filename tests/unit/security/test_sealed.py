"""The sealed CA key: round trip, bound to its etcd key, clear errors for the wrong key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.controlplane.security.sealed import (
    SealError,
    create_kek,
    is_sealed,
    key_id,
    load_kek,
    seal,
    unseal,
)


def test_seal_round_trip_and_binding(tmp_path: Path) -> None:
    kek = create_kek(tmp_path / "kek")
    box = seal(kek, b"secret key", aad=b"/dockyard/cluster/ca-key")
    assert is_sealed(box) and b"secret key" not in box
    assert unseal(kek, box, aad=b"/dockyard/cluster/ca-key", kek_path=tmp_path) == b"secret key"
    with pytest.raises(SealError, match="damaged"):
        unseal(kek, box, aad=b"/elsewhere", kek_path=tmp_path)


def test_the_wrong_key_names_both_key_ids(tmp_path: Path) -> None:
    right, wrong = os.urandom(32), os.urandom(32)
    box = seal(right, b"x", aad=b"k")
    with pytest.raises(SealError) as exc:
        unseal(wrong, box, aad=b"k", kek_path=tmp_path / "kek")
    assert key_id(right).hex() in str(exc.value) and key_id(wrong).hex() in str(exc.value)
    assert "\n" not in str(exc.value)


def test_key_file_is_private_never_replaced_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    assert load_kek(path) is None
    kek = create_kek(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert create_kek(path) == kek == load_kek(path)
    path.write_text("not a key\n")
    with pytest.raises(SealError, match="not a key file"):
        load_kek(path)
