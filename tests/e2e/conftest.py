"""One testbed for the whole e2e session: 3 netns hosts on two L2 segments, real engines,
registry, agents.

Building it takes a while, so every e2e test shares it; each test uses its own app name
and deletes its app when done. It is torn down at the end of the session, and `down`
also runs first, in case an earlier crashed run left one behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.deploy import testbed
from dockyard.deploy.testbed import TestbedStatus

# Two L2 segments (h1, h2 | h3) joined by a router namespace: agents route host-gw on a
# segment and VXLAN across, so every e2e test runs on both.
BED_ARGS: dict[str, Any] = {"nodes": 3, "node_cpus": 2, "node_memory": "2G", "segments": 2}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `teardown` take the shared testbed down: they run last; those in a
    module with RUN_AFTER_TEARDOWN (a testbed of their own) run after them."""
    items.sort(key=lambda item: (
        item.get_closest_marker("teardown") is not None,
        bool(getattr(getattr(item, "module", None), "RUN_AFTER_TEARDOWN", False)),
    ))


@pytest.fixture(scope="session")
def bed() -> Iterator[TestbedStatus]:
    reason = testbed.preflight()
    if reason:
        pytest.fail(f"the e2e testbed cannot run here: {reason}")
    testbed.down(progress=lambda _m: None)
    status = testbed.up(**BED_ARGS, progress=print)
    try:
        yield status
    finally:
        testbed.down(progress=lambda _m: None)
