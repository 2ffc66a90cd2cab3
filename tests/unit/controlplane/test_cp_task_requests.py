"""controlplane/reconcile/round.py requests_for: the scheduler's requests made once per
app, service and spec must be what making each task's request on its own gives."""

from __future__ import annotations

import random

from dockyard.controlplane.reconcile.round import requests_for
from dockyard.controlplane.snapshot import strategy_of, task_request
from dockyard.controlplane.view import ClusterView
from dockyard.controlplane.volumes import bound_volumes
from dockyard.scheduler import TaskRequest
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import MIB, app, service, spec, task, view_of


def _one_by_one(view: ClusterView, tasks: list[objects_pb2.Task]) -> list[TaskRequest]:
    out = []
    for t in tasks:
        a = view.apps.get(t.app)
        out.append(task_request(t, strategy=strategy_of(a.spec.strategy if a else 0),
                                volumes=bound_volumes(t, app=a, volumes=view.volumes)))
    return out


def test_requests_for_replicas_of_many_specs_match_one_by_one() -> None:
    rng = random.Random(3)
    web_v1 = spec("web", cpu=100, mem=64 * MIB)
    web_v2 = spec("web", cpu=250, mem=32 * MIB)  # mid-update: two specs of one service
    web_v2.placement.constraints.append("node.labels.zone==a")
    db = spec("db", cpu=500, mem=512 * MIB)
    db.ports.append(specs_pb2.PortMapping(container_port=80, host_port=5432, mode="host"))
    blog_web = spec("web", cpu=10, mem=8 * MIB)  # same service name, another app
    shop = app("shop", [web_v2, db], strategy=specs_pb2.SPREAD)
    blog = app("blog", [blog_web])
    kinds = [service("shop", web_v1), service("shop", web_v2), service("shop", db),
             service("blog", blog_web)]
    tasks = [task(rng.choice(kinds), slot, tid=f"t{slot}") for slot in range(200)]
    orphan = task(service("gone", spec("x")), 1, tid="t-orphan")  # its app is gone
    tasks.append(orphan)
    view = view_of(apps=[shop, blog], services=kinds, tasks=tasks)

    made = requests_for(view, tasks)

    assert made == _one_by_one(view, tasks)
    assert [r.task_id for r in made] == [t.meta.id for t in tasks]
    assert {r.strategy for r in made if r.service.startswith("shop/")} == {
        strategy_of(specs_pb2.SPREAD)}
