"""scheduler.dag: start waves and cycles."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.scheduler.dag import dependency_graph, find_cycle, start_waves

AMP = {"web": ["php"], "php": ["db"], "db": []}


def test_graph_edges_run_from_dependency_to_dependent() -> None:
    graph = dependency_graph(AMP)
    assert set(graph.edges) == {("db", "php"), ("php", "web")}
    assert set(graph.nodes) == {"web", "php", "db"}


def test_graph_keeps_missing_dependencies_as_nodes() -> None:
    assert set(dependency_graph({"web": ["ghost"]}).nodes) == {"web", "ghost"}


@pytest.mark.parametrize(
    ("deps", "waves"),
    [
        (AMP, [["db"], ["php"], ["web"]]),
        ({}, []),
        ({"b": [], "a": []}, [["a", "b"]]),
        (
            {"web": ["api", "cache"], "api": ["db"], "cache": [], "db": []},
            [["cache", "db"], ["api"], ["web"]],
        ),
        ({"a": ["b", "b"], "b": []}, [["b"], ["a"]]),
        ({"web": ["ghost"]}, [["web"]]),
        ({"x": ["a", "c"], "c": ["a"], "a": []}, [["a"], ["c"], ["x"]]),
    ],
)  # fmt: skip
def test_start_waves(deps: dict[str, list[str]], waves: list[list[str]]) -> None:
    assert start_waves(deps) == waves


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        (AMP, None),
        ({"web": ["php"], "php": ["web"]}, ["web", "php", "web"]),
        ({"php": ["web"], "web": ["php"]}, ["php", "web", "php"]),
        ({"web": ["web"]}, ["web", "web"]),
        ({"a": ["web"], "web": ["php"], "php": ["db", "web"], "db": []}, ["web", "php", "web"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": ["ghost"]}, None),
    ],
)  # fmt: skip
def test_find_cycle(deps: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(deps) == cycle


def test_waves_refuse_a_cycle() -> None:
    with pytest.raises(ValueError, match="dependency cycle: web -> php -> web"):
        start_waves({"web": ["php"], "php": ["web"]})


def test_long_chain_needs_no_deep_recursion() -> None:
    deps = {f"s{i}": [f"s{i + 1}"] for i in range(5000)}
    deps["s5000"] = ["s0"]
    cycle = find_cycle(deps)
    assert cycle is not None
    assert len(cycle) == 5002


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random DAGs: a service may only depend on services earlier in a hidden order."""
    count = draw(st.integers(min_value=0, max_value=25))
    names = draw(st.permutations([f"s{i}" for i in range(count)]))
    return {
        name: draw(st.lists(st.sampled_from(names[:index]), max_size=4)) if index else []
        for index, name in enumerate(names)
    }


@settings(max_examples=200, database=None, deadline=None)
@given(dags())
def test_every_edge_goes_from_an_earlier_wave_to_a_later_one(deps: dict[str, list[str]]) -> None:
    assert find_cycle(deps) is None
    waves = start_waves(deps)
    wave_of = {name: index for index, wave in enumerate(waves) for name in wave}
    assert sorted(wave_of) == sorted(deps)
    assert all(wave == sorted(wave) for wave in waves)
    for service, needs in deps.items():
        for dependency in needs:
            assert wave_of[dependency] < wave_of[service]


@settings(max_examples=200, database=None, deadline=None)
@given(dags(), st.data())
def test_an_added_back_edge_is_found_as_a_closed_path(
    deps: dict[str, list[str]], data: st.DataObject
) -> None:
    edges = [(s, d) for s, needs in deps.items() for d in needs]
    if not edges:
        return
    service, dependency = data.draw(st.sampled_from(edges))
    cyclic = {name: list(needs) for name, needs in deps.items()}
    cyclic[dependency] = [*cyclic[dependency], service]
    cycle = find_cycle(cyclic)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    for here, there in itertools.pairwise(cycle):
        assert there in cyclic[here]
