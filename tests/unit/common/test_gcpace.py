"""The collector's pace (common/gcpace.py): what is alive at `settle` is frozen, the
collector stays on at its new pace, and cycles made afterwards are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from dockyard.common import gcpace


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_freezes_what_is_alive_and_keeps_collecting(restored: None) -> None:
    kept = Node()
    gcpace.settle()
    assert gc.isenabled()
    assert gc.get_threshold() == (gcpace.YOUNG_EVERY, gcpace.OLDER_EVERY, gcpace.OLDER_EVERY)
    assert gc.get_freeze_count() > 0
    assert kept.me is kept

    later = Node()
    ref = weakref.ref(later)
    del later
    gc.collect()
    assert ref() is None  # a cycle made after settle is still collected
