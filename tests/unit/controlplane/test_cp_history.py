"""An app's kept versions, purely: what changed, which version to roll back to, which
one runs now, and secrets kept out of the history."""

from __future__ import annotations

from dockyard.controlplane import history
from dockyard.controlplane.desired import service_hash
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import spec


def app_spec(*services: specs_pb2.ServiceSpec, secret: bytes = b"") -> specs_pb2.AppSpec:
    a = specs_pb2.AppSpec(name="shop", services=list(services))
    if secret:
        a.secrets.add(name="key", data=secret)
    return a


def version(n: int, a: specs_pb2.AppSpec) -> objects_pb2.AppVersion:
    return objects_pb2.AppVersion(number=n, spec=history.kept_spec(a))


def test_what_changed_names_services_images_and_counts() -> None:
    v1 = app_spec(spec("web", replicas=2, image="r/web:1"), spec("db", image="r/db:1"))
    assert history.version_changes(None, v1) == ["web created (r/web:1)", "db created (r/db:1)"]
    web2 = spec("web", replicas=3, image="r/web:2", env={"MODE": "fast"})
    v2 = app_spec(web2, spec("cache", image="r/cache:1"))
    assert history.version_changes(v1, v2) == [
        "web updated: image r/web:1 -> r/web:2, replicas 2 -> 3, environment changed",
        "cache created (r/cache:1)",
        "db removed",
    ]
    v3 = app_spec(web2, spec("cache", image="r/cache:1"), secret=b"s3cret")
    assert history.version_changes(v2, v3) == ["app: secrets changed"]


def test_versions_keep_no_secret_contents_and_a_rollback_takes_them_from_the_app() -> None:
    now = app_spec(spec("web"), secret=b"new-secret")
    kept = history.kept_spec(app_spec(spec("web"), secret=b"old-secret"))
    assert [s.data for s in kept.secrets] == [b""]
    restored, problem = history.restore_files(kept, now)
    assert problem is None and [s.data for s in restored.secrets] == [b"new-secret"]
    _, problem = history.restore_files(kept, app_spec(spec("web")))
    assert problem == ('that version uses secret "key", which the app no longer has; apply a '
                       "file instead")


def test_the_history_holds_the_last_ten() -> None:
    assert history.dropped_version(10) == 0
    assert history.dropped_version(11) == 1
    assert list(history.kept_numbers(3)) == [1, 2, 3]
    assert list(history.kept_numbers(25)) == list(range(16, 26))


def test_rollback_goes_to_the_version_before_the_latest_or_the_one_named() -> None:
    versions = [version(n, app_spec(spec("web", image=f"r/web:{n}"))) for n in (4, 5, 6)]
    target = history.rollback_target(versions, app="shop", latest=6, to=0)
    assert not isinstance(target, str) and target.number == 5
    target = history.rollback_target(versions, app="shop", latest=6, to=4)
    assert not isinstance(target, str) and target.number == 4
    assert history.rollback_target(versions, app="shop", latest=6, to=2) == (
        'app "shop" has no version 2 (kept: 4-6)')
    assert history.rollback_target(versions[:1], app="shop", latest=4, to=0) == (
        'app "shop" has no version before 4 (kept: 4-4)')
    assert history.rollback_target([], app="shop", latest=0, to=0) == (
        'app "shop" has no kept versions to roll back to')


def test_the_current_version_is_the_newest_whose_services_run_now() -> None:
    web1, web2 = spec("web", image="r/web:1"), spec("web", image="r/web:2")
    versions = [version(1, app_spec(web1)), version(2, app_spec(web2)),
                version(3, app_spec(web1))]
    assert history.current_version(versions, {"web": service_hash(web1)}) == 3
    assert history.current_version(versions, {"web": service_hash(web2)}) == 2
    # A count changed by hand is still the same version.
    scaled = specs_pb2.ServiceSpec()
    scaled.CopyFrom(web2)
    scaled.replicas = 7
    assert history.current_version(versions, {"web": service_hash(scaled)}) == 2
    assert history.current_version(versions, {"web": "something else"}) == 0


def test_history_rows_show_the_version_when_where_from_and_what_changed() -> None:
    from dockyard.cli import render

    v = objects_pb2.AppVersion(number=4, applied_ms=1000, source="rollback to 1",
                               spec=app_spec(spec("web", image="r/web:1")),
                               changes=["web updated: image r/web:2 -> r/web:1"])
    row = render.version_row(v, current=4)
    assert row == {"version": 4, "applied_ms": 1000, "source": "rollback to 1",
                   "changes": ["web updated: image r/web:2 -> r/web:1"],
                   "images": {"web": "r/web:1"}, "current": True}
    lines = render.table("history", [row]).splitlines()
    assert lines[0].split() == ["CURRENT", "VERSION", "APPLIED", "SOURCE", "CHANGES"]
    assert lines[1].startswith("*") and "rollback to 1" in lines[1]
    assert lines[1].endswith("web updated: image r/web:2 -> r/web:1")
    assert render.update_state(objects_pb2.UpdateStatus(state=objects_pb2.ROLLBACK_PAUSED)) == (
        "rollback paused")
    assert render.update_state(objects_pb2.UpdateStatus(state=objects_pb2.UPDATE_PAUSED)) == (
        "paused")
    assert render.update_state(objects_pb2.UpdateStatus()) == ""
