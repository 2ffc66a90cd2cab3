"""The dependency graph of an app's services: start order and cycles.

Why: Dockyard starts services in dependency order across hosts (each tier waits
until the ones it needs are ready). Stopping in reverse order is decided from live
tasks by the task reconciler (a service stops once no running task needs it), not
from waves computed here. The graph
comes from Compose ``depends_on``; this module takes it as a plain mapping
``service -> the services it depends on`` so that the scheduler stays free of the
wire types. Every function here is pure: a computation with no side effects.

Edges in the graph run from a dependency to its dependent (``db -> php``), so a
topological order is a start order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx

Dependencies = Mapping[str, Sequence[str]]


def dependency_graph(deps: Dependencies) -> nx.DiGraph:
    """A directed graph with an edge ``dependency -> dependent`` for each dependency.

    Every service is a node, and so is every name that is depended on, even when it
    is not a key of ``deps``. Pure.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(deps)
    for service, needs in deps.items():
        for dependency in needs:
            graph.add_edge(dependency, service)
    return graph


def find_cycle(deps: Dependencies) -> list[str] | None:
    """A dependency cycle as a closed path, or None when there is none.

    The path follows ``depends on``: ``["web", "php", "web"]`` means web depends on
    php and php on web. It starts at the name on the cycle that comes first in
    ``deps`` (the file's order for a Compose app), and the search follows the mapping's
    order, so the answer is deterministic. Pure.
    """
    rank = {name: index for index, name in enumerate(deps)}
    done: set[str] = set()
    for root in deps:
        if root in done:
            continue
        path = [root]
        on_path = {root}
        pending = [iter(dict.fromkeys(deps.get(root, ())))]
        while pending:
            dependency = next(pending[-1], None)
            if dependency is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
            elif dependency in on_path:
                cycle = path[path.index(dependency) :]
                start = cycle.index(min(cycle, key=lambda name: (rank.get(name, len(rank)), name)))
                cycle = cycle[start:] + cycle[:start]
                return [*cycle, cycle[0]]
            elif dependency not in done:
                path.append(dependency)
                on_path.add(dependency)
                pending.append(iter(dict.fromkeys(deps.get(dependency, ()))))
    return None


def start_waves(deps: Dependencies) -> list[list[str]]:
    """Services grouped into waves that can start together, in start order.

    A service is in the wave after the last of its dependencies; names are sorted
    inside each wave. Names that are depended on but are not services are left out.
    Raises ``ValueError`` naming the cycle when there is one. Pure.
    """
    cycle = find_cycle(deps)
    if cycle:
        raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")
    graph = dependency_graph(deps)
    waves = []
    for generation in nx.topological_generations(graph):
        wave = sorted(name for name in generation if name in deps)
        if wave:
            waves.append(wave)
    return waves
