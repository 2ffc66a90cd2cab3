"""Chaos on the shared testbed: each scenario must lose no task, duplicate none, and
restart no healthy container without need. Recovery times are printed, not asserted
(timings belong to `make chaos` and `make bench-failover`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dockyard.deploy.bench import chaos
from dockyard.deploy.bench.cluster import Cluster, delete_and_wait
from dockyard.deploy.testbed import TestbedStatus

pytestmark = pytest.mark.e2e

APP = "chaos"


@pytest.fixture(scope="module")
def cluster(bed: TestbedStatus) -> Iterator[Cluster]:
    c = Cluster(bed)
    chaos.prepare(c, APP)
    yield c
    delete_and_wait(c, APP)


@pytest.mark.parametrize("name", list(chaos.SCENARIOS))
def test_scenario_keeps_every_task(cluster: Cluster, name: str) -> None:
    outcome = chaos.SCENARIOS[name](cluster, APP)
    print(f"{outcome.scenario}: recovered in {outcome.recover_s:.2f}s")
    assert outcome.problems == []
