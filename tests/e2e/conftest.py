"""One testbed for the whole e2e session: 3 netns hosts, real engines, registry, agents.

Building it takes a while, so every e2e test shares it; each test uses its own app name
and deletes its app when done. It is torn down at the end of the session, and `down`
also runs first, in case an earlier crashed run left one behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deploy import testbed
from deploy.testbed import TestbedStatus


@pytest.fixture(scope="session")
def bed() -> Iterator[TestbedStatus]:
    if os.geteuid() != 0:
        pytest.fail("e2e tests need root: they build network namespaces and Docker Engines")
    testbed.down(progress=lambda _m: None)
    status = testbed.up(nodes=3, node_cpus=2, node_memory="2G", progress=print)
    try:
        yield status
    finally:
        testbed.down(progress=lambda _m: None)
