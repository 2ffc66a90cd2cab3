"""controlplane/desired.py: service hashes and what an apply changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.controlplane.desired import app_hash, diff_services, replicas_detail, service_hash
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import spec


def stored_service(app: str, s: specs_pb2.ServiceSpec, *, created_ms: int = 5,
                   running: int = 0) -> objects_pb2.Service:
    svc = objects_pb2.Service(app=app, spec=s, spec_hash=service_hash(s))
    svc.meta.id = f"{app}/{s.name}"
    svc.meta.created_ms = created_ms
    svc.meta.version = 7
    svc.status.running = running
    return svc


def test_service_hash_ignores_replicas() -> None:
    assert service_hash(spec("web", replicas=1)) == service_hash(spec("web", replicas=5))


def test_service_hash_does_not_mutate_its_input() -> None:
    s = spec("web", replicas=3)
    service_hash(s)
    assert s.replicas == 3


@pytest.mark.parametrize(
    "other",
    [
        spec("web", image="registry:5000/app:2"),
        spec("web", cpu=200),
        spec("web", mem=1),
        spec("web", env={"A": "1"}),
        spec("web", healthcheck=["CMD", "true"]),
        spec("api"),
    ],
    ids=["image", "cpu", "memory", "env", "healthcheck", "name"],
)
def test_service_hash_changes_with_anything_but_replicas(other: specs_pb2.ServiceSpec) -> None:
    assert service_hash(spec("web")) != service_hash(other)


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=6))
def test_service_hash_ignores_map_insertion_order(env: dict[str, str]) -> None:
    forward = spec("web", env=env)
    backward = spec("web", env=dict(reversed(list(env.items()))))
    assert service_hash(forward) == service_hash(backward)


def test_app_hash_sees_replicas() -> None:
    a = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=1)])
    b = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=2)])
    assert app_hash(a) != app_hash(b)


def _actions(diffs: list) -> list[tuple[str, str]]:
    return [(d.name, d.action) for d in diffs]


@pytest.mark.parametrize(
    ("stored", "new", "expected"),
    [
        ([], [spec("db"), spec("web")], [("db", "created"), ("web", "created")]),
        ([spec("db")], [spec("db")], [("db", "unchanged")]),
        ([spec("db")], [spec("db", image="x:2")], [("db", "updated")]),
        ([spec("db", replicas=1)], [spec("db", replicas=3)], [("db", "updated")]),
        ([spec("db"), spec("old")], [spec("db")], [("db", "unchanged"), ("old", "removed")]),
        # file order first, then removed services sorted by name
        ([spec("z"), spec("a")], [spec("web"), spec("cache")],
         [("web", "created"), ("cache", "created"), ("a", "removed"), ("z", "removed")]),
        ([], [], []),
    ],
    ids=["create", "unchanged", "image", "replicas", "removed", "order", "empty"],
)
def test_diff_services_actions(
    stored: list[specs_pb2.ServiceSpec],
    new: list[specs_pb2.ServiceSpec],
    expected: list[tuple[str, str]],
) -> None:
    diffs = diff_services(
        app="shop",
        stored={s.name: stored_service("shop", s) for s in stored},
        spec=specs_pb2.AppSpec(name="shop", services=new),
        now_ms=1000,
    )
    assert _actions(diffs) == expected
    for d in diffs:
        if d.action in ("unchanged", "removed"):
            assert d.service is None
        else:
            assert d.service is not None


def test_created_service_object() -> None:
    (d,) = diff_services(app="shop", stored={}, spec=specs_pb2.AppSpec(
        name="shop", services=[spec("web", replicas=2)]), now_ms=1000)
    assert d.service is not None
    svc = d.service
    assert svc.meta.id == "shop/web"
    assert svc.app == "shop"
    assert svc.spec.replicas == 2
    assert svc.spec_hash == service_hash(spec("web"))
    assert (svc.meta.created_ms, svc.meta.updated_ms) == (1000, 1000)
    assert svc.meta.version == 0


def test_updated_service_keeps_created_time_and_status() -> None:
    old = stored_service("shop", spec("web", replicas=1), created_ms=5, running=1)
    (d,) = diff_services(app="shop", stored={"web": old}, spec=specs_pb2.AppSpec(
        name="shop", services=[spec("web", replicas=4)]), now_ms=2000)
    assert d.action == "updated"
    assert d.service is not None
    assert d.service.meta.created_ms == 5
    assert d.service.meta.updated_ms == 2000
    assert d.service.status.running == 1
    assert d.service.spec.replicas == 4
    assert d.service.spec_hash == old.spec_hash  # scaling is not a new version


def _reapply(stored_replicas: int, file_before: int, file_now: int) -> list:
    """The file said `file_before`, the service holds `stored_replicas` (scaled by hand
    when they differ), and the file now says `file_now`."""
    old = stored_service("shop", spec("web", replicas=stored_replicas))
    applied = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=file_before)])
    return diff_services(app="shop", stored={"web": old}, now_ms=2000, applied=applied,
                         spec=specs_pb2.AppSpec(name="shop",
                                                services=[spec("web", replicas=file_now)]))


def test_reapply_after_scale_sets_the_files_count_back_and_says_so() -> None:
    (d,) = _reapply(stored_replicas=5, file_before=2, file_now=2)
    assert d.action == "updated"
    assert d.service is not None and d.service.spec.replicas == 2
    assert d.detail == "replicas 5 -> 2 (the file's value; it was scaled by hand)"


def test_replicas_changed_in_the_file_are_not_called_scaled_by_hand() -> None:
    (d,) = _reapply(stored_replicas=2, file_before=2, file_now=3)
    assert (d.action, d.detail) == ("updated", "replicas 2 -> 3")


def test_reapply_of_the_same_file_is_unchanged_with_nothing_to_say() -> None:
    (d,) = _reapply(stored_replicas=2, file_before=2, file_now=2)
    assert (d.action, d.detail, d.service) == ("unchanged", "", None)


def test_a_new_spec_and_a_hand_scaled_count_are_both_reported() -> None:
    old = stored_service("shop", spec("web", replicas=4))
    applied = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=1)])
    (d,) = diff_services(app="shop", stored={"web": old}, now_ms=2000, applied=applied,
                         spec=specs_pb2.AppSpec(name="shop", services=[
                             spec("web", replicas=1, image="registry:5000/app:2")]))
    assert d.action == "updated"
    assert d.detail == "new spec, replicas 4 -> 1 (the file's value; it was scaled by hand)"


@pytest.mark.parametrize(
    ("stored", "wanted", "last", "expected"),
    [
        (3, 3, 3, ""),
        (5, 2, 2, "replicas 5 -> 2 (the file's value; it was scaled by hand)"),
        (2, 5, 2, "replicas 2 -> 5"),
        (2, 5, None, "replicas 2 -> 5"),
    ],
)
def test_replicas_detail(stored: int, wanted: int, last: int | None, expected: str) -> None:
    assert replicas_detail(stored=stored, wanted=wanted, last_applied=last) == expected


def _rollout(s: specs_pb2.ServiceSpec, *, parallelism: int = 0, rollback: bool = False,
             team: str = "") -> specs_pb2.ServiceSpec:
    out = specs_pb2.ServiceSpec()
    out.CopyFrom(s)
    if parallelism:
        out.update_config.parallelism = parallelism
    if rollback:
        out.rollback_config.SetInParent()
    if team:
        out.deploy_labels["team"] = team
    return out


@pytest.mark.parametrize(
    ("after", "detail"),
    [
        ({"parallelism": 2}, "deploy.update_config changed (running tasks kept)"),
        ({"rollback": True}, "deploy.rollback_config changed (running tasks kept)"),
        ({"team": "b"}, "deploy.labels changed (running tasks kept)"),
        ({"parallelism": 3, "rollback": True, "team": "b"},
         "deploy.update_config, deploy.rollback_config, deploy.labels changed "
         "(running tasks kept)"),
    ],
)
def test_rollout_settings_alone_are_stored_and_keep_the_tasks(
    after: dict[str, object], detail: str
) -> None:
    before = _rollout(spec("web", replicas=3), parallelism=1, team="a")
    old = stored_service("shop", before)
    old.update.state = objects_pb2.UPDATE_COMPLETED
    new_spec = _rollout(spec("web", replicas=3), **{"parallelism": 1, "team": "a", **after})
    (d,) = diff_services(app="shop", stored={"web": old}, now_ms=2000,
                         spec=specs_pb2.AppSpec(name="shop", services=[new_spec]))
    assert (d.action, d.detail) == ("updated", detail)
    assert d.service is not None and d.service.spec == new_spec  # stored, for the next update
    # Tasks are outdated by hash: theirs stays current, and no update starts.
    assert d.service.spec_hash == old.spec_hash
    assert d.service.update == old.update and not d.service.HasField("previous_spec")


def test_rollout_settings_with_a_new_image_are_one_new_spec() -> None:
    old = stored_service("shop", spec("web"))
    new_spec = _rollout(spec("web", image="registry:5000/app:2"), parallelism=2)
    (d,) = diff_services(app="shop", stored={"web": old}, now_ms=2000,
                         spec=specs_pb2.AppSpec(name="shop", services=[new_spec]))
    assert (d.action, d.detail) == ("updated", "new spec")
    assert d.service is not None and d.service.update.state == objects_pb2.UPDATING


def test_what_the_agent_or_engine_reads_stays_in_the_hash() -> None:
    base = spec("web")
    changed = []
    for edit in ("restart", "placement", "stop_grace"):
        s = specs_pb2.ServiceSpec()
        s.CopyFrom(base)
        if edit == "restart":
            s.restart_policy.max_attempts = 3  # the agent restarts by the task's copy
        elif edit == "placement":
            s.placement.constraints.append("node.labels.zone==a")
        else:
            s.stop_grace_period_ms = 1000
        changed.append(service_hash(s) != service_hash(base))
    assert changed == [True, True, True]
    assert service_hash(_rollout(base, parallelism=4, rollback=True, team="x")) == (
        service_hash(base))
