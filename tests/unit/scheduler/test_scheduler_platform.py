"""`platform`: tasks go only to nodes of the image's architecture, and a pending task says
why; a node that did not report its architecture is not refused."""

from __future__ import annotations

import dataclasses

import pytest
from scheduler_builders import node, task

from dockyard.scheduler import place
from dockyard.scheduler.rules import platform_problem


@pytest.mark.parametrize(("platform", "arch", "problem"), [
    ("linux/amd64", "amd64", None),
    ("linux/arm64", "amd64", "architecture is amd64, not arm64"),
    ("linux/arm64/v8", "arm64", None),
    ("linux/arm/v7", "arm", None),
    ("linux/arm64", "", None),
    ("windows/amd64", "amd64", "runs linux containers, not windows"),
    ("linux", "amd64", None),
])
def test_platform_against_architecture(platform: str, arch: str, problem: str | None) -> None:
    assert platform_problem(platform, arch) == problem


def test_tasks_go_only_to_nodes_of_their_architecture() -> None:
    nodes = [dataclasses.replace(node("x1"), architecture="amd64"),
             dataclasses.replace(node("a1"), architecture="arm64"),
             dataclasses.replace(node("x2"), architecture="amd64")]
    arm = [dataclasses.replace(task(f"t{i}"), platform="linux/arm64") for i in range(3)]
    plan = place(nodes=nodes, tasks=arm)
    assert {p.node for p in plan.placements} == {"a1"}
    assert plan.unplaced == {}


def test_no_node_of_the_architecture_is_the_pending_reason() -> None:
    nodes = [dataclasses.replace(node(f"x{i}"), architecture="amd64") for i in range(2)]
    plan = place(nodes=nodes, tasks=[dataclasses.replace(task("t1"), platform="linux/arm64")])
    assert plan.placements == ()
    assert plan.unplaced == {"t1": "0/2 nodes fit: 2 cannot run platform linux/arm64"}
