"""Each rule's refusal as a user reads it, never_fits, invalid requests and the wording."""

from __future__ import annotations

import pytest
from scheduler_builders import node, task

from dockyard.scheduler import (
    NodeInfo,
    Resources,
    TaskRequest,
    invalid_reason,
    never_fits,
    parse_constraint,
    place,
)
from dockyard.scheduler.explain import (
    GIB,
    MIB,
    detailed,
    format_bytes,
    format_cpus,
    summarise_rejections,
)
from dockyard.scheduler.model import MAX_AMOUNT

ZONE_B = parse_constraint("node.labels.zone==b")


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (2048, "2 KiB"),
        (256 * MIB, "256 MiB"),
        (4 * GIB, "4 GiB"),
        (3 * GIB // 2, "1.5 GiB"),
        (64 * GIB, "64 GiB"),
        (2048 * GIB, "2 TiB"),
        (-GIB, "-1 GiB"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize(
    ("millis", "text"),
    [
        (1500, "1.5 cpus"),
        (1000, "1 cpu"),
        (250, "0.25 cpus"),
        (16000, "16 cpus"),
        (0, "0 cpus"),
        (5, "0.005 cpus"),
    ],
)
def test_format_cpus(millis: int, text: str) -> None:
    assert format_cpus(millis) == text


def test_detail() -> None:
    demand = Resources(cpu_millis=1500, memory_bytes=4 * GIB)
    assert (
        detailed(reason="insufficient memory", demand=demand) == "insufficient memory (needs 4 GiB)"
    )
    assert detailed(reason="insufficient cpu", demand=demand) == "insufficient cpu (needs 1.5 cpus)"
    assert detailed(reason="node down", demand=demand) == "node down"


def test_summarise_rejections() -> None:
    text = summarise_rejections(
        total=40,
        fitting=0,
        counts={"failed node.labels.zone==b": 9, "insufficient memory (needs 4 GiB)": 31},
    )
    assert (
        text == "0/40 nodes fit: 31 insufficient memory (needs 4 GiB), 9 failed node.labels.zone==b"
    )
    assert (
        summarise_rejections(total=0, fitting=0, counts={})
        == "0/0 nodes fit: the cluster has no nodes"
    )
    assert summarise_rejections(total=3, fitting=3, counts={}) == "3/3 nodes fit"


@pytest.mark.parametrize(
    ("subject", "request_", "reason"),
    [
        (node(), task(), None),
        (node(ready=False), task(), "node down"),
        (node(ready=False, drained=True), task(), "node down"),
        (node(drained=True), task(), "node drained"),
        (node(labels={"zone": "a"}), task(constraints=(ZONE_B,)), "failed node.labels.zone==b"),
        (node(labels={"zone": "b"}), task(constraints=(ZONE_B,)), None),
        (
            node("n1"),
            task(constraints=(parse_constraint("node.hostname!=n1"),)),
            "failed node.hostname!=n1",
        ),
        (node(counts={"app/web": 1}), task(max_per_node=1), "max_per_node 1 reached"),
        (node(counts={"app/web": 1}), task(max_per_node=2), None),
        (node(counts={"app/db": 3}), task(max_per_node=1), None),
        (node(ports=frozenset({8080})), task(ports=frozenset({8080})), "port 8080 in use"),
        (node(ports=frozenset({8080})), task(ports=frozenset({80})), None),
        (node(ports=frozenset({80, 443})), task(ports=frozenset({443, 80})), "port 80 in use"),
        (node(used=(15.5, 0)), task(cpus=1), "insufficient cpu"),
        (node(used=(15, 0)), task(cpus=1), None),
        (node(used=(0, 63.5)), task(gib=1), "insufficient memory"),
        (node(used=(0, 63)), task(gib=1), None),
        (node(used=(16, 64)), task(cpus=1, gib=1), "insufficient cpu"),
        (node(used=(16, 64)), task(cpus=0, gib=0), None),
    ],
)
def test_each_rule_refuses_a_node_with_its_reason(
    subject: NodeInfo, request_: TaskRequest, reason: str | None
) -> None:
    plan = place(nodes=[subject], tasks=[request_])
    if reason is None:
        assert [p.node for p in plan.placements] == [subject.name], plan.unplaced
    else:
        assert not plan.placements
        assert plan.unplaced[request_.task_id].startswith(f"0/1 nodes fit: 1 {reason}"), plan


@pytest.mark.parametrize(
    ("nodes", "request_", "reason"),
    [
        ([node(gib=8)], task(gib=64), "needs 64 GiB memory; the largest node has 8 GiB"),
        (
            [node(cpus=4), node("n2", cpus=8)],
            task(cpus=12),
            "needs 12 cpus; the largest node has 8 cpus",
        ),
        (
            [node(cpus=4, gib=8)],
            task(cpus=8, gib=16),
            "needs 8 cpus and 16 GiB memory; the largest node has 4 cpus and 8 GiB",
        ),
        (
            [node(cpus=16, gib=8), node("n2", cpus=4, gib=64)],
            task(cpus=8, gib=32),
            "needs 8 cpus and 32 GiB memory; no node has both",
        ),
        ([], task(), "the cluster has no nodes"),
        (
            [node(labels={"zone": "a"})],
            task(constraints=(ZONE_B,)),
            "no node satisfies node.labels.zone==b",
        ),
        (
            [node(labels={"zone": "b"}, gib=8), node("n2", labels={"zone": "a"}, gib=64)],
            task(gib=16, constraints=(ZONE_B,)),
            "needs 16 GiB memory; the largest node matching node.labels.zone==b has 8 GiB",
        ),
        ([node()], task(max_per_node=0), "invalid max_per_node 0: must be at least 1"),
        ([node()], task(cpus=-0.1), "invalid cpu reservation -0.1 cpus: must not be negative"),
        # Allocation, readiness and drain change, so they never make a task impossible.
        ([node(used=(16, 64), ready=False, drained=True)], task(cpus=16, gib=64), None),
        ([node(gib=8), node("n2", gib=128)], task(gib=64), None),
    ],
)
def test_never_fits(nodes: list[NodeInfo], request_: TaskRequest, reason: str | None) -> None:
    assert never_fits(nodes=nodes, task=request_) == reason


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (task(), None),
        (task(cpus=0, gib=0), None),
        (task(cpus=-1), "invalid cpu reservation -1 cpu: must not be negative"),
        (task(gib=-1), "invalid memory reservation -1 GiB: must not be negative"),
        (
            TaskRequest(task_id="t1", service="app/web", demand=Resources(0, MAX_AMOUNT + 1)),
            "invalid memory reservation 4096 TiB: above 4096 TiB",
        ),
        (task(max_per_node=0), "invalid max_per_node 0: must be at least 1"),
        (task(max_per_node=-3), "invalid max_per_node -3: must be at least 1"),
    ],
)
def test_impossible_requests_are_refused_in_one_line(
    request_: TaskRequest, reason: str | None
) -> None:
    assert invalid_reason(request_) == reason
    plan = place(nodes=[node()], tasks=[request_])
    if reason is None:
        assert len(plan.placements) == 1
    else:
        assert plan.unplaced == {request_.task_id: reason}
