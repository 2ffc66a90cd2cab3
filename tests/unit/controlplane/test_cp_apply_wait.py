"""The apply's pure parts: when `apply --wait` may return (only tasks of the service's
current spec version count), when an update has failed, what `scale` reminds the user
of, and when an apply has nothing to write."""

from __future__ import annotations

from dockyard.cli.commands import scale_note
from dockyard.cli.wait import service_done, service_progress
from dockyard.controlplane.api.apps import nothing_changed
from dockyard.controlplane.desired import app_hash, diff_services
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import service, spec, status, task

V1 = service("shop", spec("web", replicas=2, image="registry:5000/app:1"))
V2 = service("shop", spec("web", replicas=2, image="registry:5000/app:2"))


def _task(svc: objects_pb2.Service, slot: int, st: objects_pb2.TaskStatus,
          *, restarts: int = 0) -> objects_pb2.Task:
    t = task(svc, slot, tid=f"{svc.spec.image[-1]}-{slot}", node="n1")
    t.status.CopyFrom(st)
    t.status.restarts = restarts
    return t


def test_old_version_tasks_do_not_make_an_updated_service_up() -> None:
    old = [_task(V1, 1, status()), _task(V1, 2, status())]
    p = service_progress(V2, old)
    assert not p.up
    assert p.failed == ""
    assert "0/2 healthy" in p.line
    assert "2 of the previous version still running" in p.line
    assert service_done(V2, old) == 0


def test_half_rolled_is_not_up() -> None:
    tasks = [_task(V2, 1, status()), _task(V1, 2, status())]
    p = service_progress(V2, tasks)
    assert not p.up
    assert "1/2 healthy" in p.line
    assert service_done(V2, tasks) == 1


def test_all_new_and_running_is_up() -> None:
    p = service_progress(V2, [_task(V2, 1, status()), _task(V2, 2, status())])
    assert p.up
    assert p.line == "web: 2/2 running, 2/2 healthy"


def test_a_new_task_starting_up_is_not_yet_healthy() -> None:
    checked = service("shop", spec("web", replicas=1, healthcheck=["CMD", "true"]))
    starting = _task(checked, 1, status(health=objects_pb2.HEALTH_STARTING))
    assert not service_progress(checked, [starting]).up
    healthy = _task(checked, 1, status(health=objects_pb2.HEALTH_HEALTHY))
    assert service_progress(checked, [healthy]).up


def test_a_crash_looping_new_task_fails_the_update_while_the_old_one_serves() -> None:
    tasks = [_task(V2, 1, status(state=objects_pb2.STARTING), restarts=4),
             _task(V1, 2, status())]
    p = service_progress(V2, tasks)
    assert not p.up
    assert p.failed == ("web.1: crash-looping: 4 restarts, last exit 0; the previous "
                        "version still serves")


def test_a_new_task_that_failed_for_good_fails_the_update() -> None:
    s = spec("web", replicas=1, image="registry:5000/app:2")
    s.restart_policy.condition = specs_pb2.RESTART_NONE
    v2 = service("shop", s)
    failed = _task(v2, 1, status(state=objects_pb2.FAILED, exit_code=3))
    failed.status.message = "exited with code 3"
    p = service_progress(v2, [failed, _task(V1, 1, status())])
    assert p.failed == "web.1: failed: exited with code 3; the previous version still serves"


def test_a_failed_new_task_that_will_be_restarted_is_not_a_failed_update() -> None:
    failed = _task(V2, 1, status(state=objects_pb2.FAILED, exit_code=3))
    assert service_progress(V2, [failed, _task(V1, 2, status())]).failed == ""


def _judged(svc: objects_pb2.Service, state: int, *, failed_hash: str,
            rolled: bool = False) -> objects_pb2.Service:
    """`svc` as the control plane leaves it after judging an update."""
    out = objects_pb2.Service()
    out.CopyFrom(V1 if rolled else svc)  # a rollback puts the previous spec back
    out.update.CopyFrom(objects_pb2.UpdateStatus(
        state=state, message="web.1 unhealthy (3 checks failed)",  # type: ignore[arg-type]
        failed_hash=failed_hash))
    return out


def test_an_update_the_control_plane_paused_fails_the_wait_with_its_reason() -> None:
    paused = _judged(V2, objects_pb2.UPDATE_PAUSED, failed_hash=V2.spec_hash)
    tasks = [_task(V2, 1, status(health=objects_pb2.HEALTH_UNHEALTHY)), _task(V1, 2, status())]
    p = service_progress(paused, tasks, V2.spec_hash)
    assert not p.up
    assert p.failed == ("web.1 unhealthy (3 checks failed); the update is paused and the "
                        "previous version still serves")


def test_a_rollback_ends_the_wait_of_the_apply_it_undid_once_it_is_done() -> None:
    rolling = _judged(V2, objects_pb2.ROLLING_BACK, failed_hash=V2.spec_hash, rolled=True)
    tasks = [_task(V1, 1, status()), _task(V1, 2, status())]
    p = service_progress(rolling, tasks, V2.spec_hash)
    assert (p.up, p.failed) == (False, "")
    assert "rolling back: web.1 unhealthy" in p.line
    done = _judged(V2, objects_pb2.ROLLED_BACK, failed_hash=V2.spec_hash, rolled=True)
    p = service_progress(done, tasks, V2.spec_hash)
    assert not p.up
    assert p.failed == "web.1 unhealthy (3 checks failed); rolled back to the previous version"


def test_an_older_failure_does_not_fail_a_new_wait() -> None:
    paused_before = _judged(V2, objects_pb2.UPDATE_PAUSED, failed_hash="an-older-hash")
    p = service_progress(paused_before, [_task(V2, 1, status()), _task(V2, 2, status())],
                         V2.spec_hash)
    assert (p.up, p.failed) == (True, "")


def test_a_rollback_waits_for_the_version_it_restores() -> None:
    back = _judged(V2, objects_pb2.ROLLING_BACK, failed_hash="", rolled=True)
    new = [_task(V2, 1, status()), _task(V2, 2, status())]
    assert not service_progress(back, new, V1.spec_hash).up
    assert service_progress(back, [_task(V1, 1, status()), _task(V1, 2, status())],
                            V1.spec_hash).up


def test_completed_new_tasks_are_up() -> None:
    done = [_task(V2, i, status(state=objects_pb2.COMPLETE)) for i in (1, 2)]
    p = service_progress(V2, done)
    assert (p.up, p.line) == (True, "web: 2/2 completed")


def test_scale_note_says_the_next_apply_resets_the_count() -> None:
    app = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=2)])
    assert scale_note(app, "web", 5) == (
        "note: the file of shop says 2; the next apply sets web back to 2 replicas "
        "(change the file to keep 5)")
    assert scale_note(app, "web", 2) == ""


def _stored_app(s: specs_pb2.AppSpec) -> objects_pb2.App:
    return objects_pb2.App(spec=s, spec_hash=app_hash(s))


def test_a_reapply_after_scale_has_something_to_write() -> None:
    file = specs_pb2.AppSpec(name="shop", services=[spec("web", replicas=2)])
    scaled = service("shop", spec("web", replicas=5))
    diffs = diff_services(app="shop", stored={"web": scaled}, spec=file, now_ms=1,
                          applied=file)
    assert not nothing_changed(_stored_app(file), _stored_app(file), diffs)
    same = diff_services(app="shop", stored={"web": service("shop", spec("web", replicas=2))},
                         spec=file, now_ms=1, applied=file)
    assert nothing_changed(_stored_app(file), _stored_app(file), same)
