"""Updates that protect themselves: update_config's pacing, monitor, failure ratio and
failure action, decided by pure functions (`updates.judge`) and by whole rounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.desired import diff_services, service_hash
from dockyard.controlplane.reconcile import updates
from dockyard.controlplane.reconcile.round import plan_round
from dockyard.controlplane.reconcile.updates import NewTask, Policy, judge, policy_for
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import app, counter_ids, node, service, spec, task, view_of

REMOVE = objects_pb2.DESIRED_REMOVE
UPDATING = objects_pb2.UpdateStatus(state=objects_pb2.UPDATING, started_ms=1)


def policy(**kw: object) -> Policy:
    base: dict[str, object] = {"parallelism": 1, "delay_ms": 0, "order": "stop-first",
                               "monitor_ms": 0, "max_failure_ratio": 0.0,
                               "failure_action": "pause"}
    base.update(kw)
    return Policy(**base)  # type: ignore[arg-type]


def ok(slot: int, ready_ms: int = 100) -> NewTask:
    return NewTask(name=f"web.{slot}", ready=True, failure="", ready_ms=ready_ms)


def starting(slot: int) -> NewTask:
    return NewTask(name=f"web.{slot}", ready=False, failure="")


def bad(slot: int) -> NewTask:
    return NewTask(name=f"web.{slot}", ready=False, failure=f"web.{slot} unhealthy (3 checks "
                                                            "failed)")


def verdict(p: Policy, new: list[NewTask], *, outdated: int, replicas: int = 4,
            update: objects_pb2.UpdateStatus = UPDATING, now_ms: int = 1000,
            can_roll_back: bool = True) -> updates.Verdict:
    return judge(service="web", policy=p, update=update, replicas=replicas, new=new,
                 outdated=outdated, spec_hash="h2", can_roll_back=can_roll_back,
                 now_ms=now_ms)


# -- policies ------------------------------------------------------------------------


def test_defaults_are_stop_first_pause_and_a_five_second_monitor() -> None:
    p = policy_for(specs_pb2.ServiceSpec(), rolling_back=False)
    assert (p.order, p.failure_action, p.monitor_ms, p.parallelism) == (
        "stop-first", "pause", 5000, 0)


def test_a_rollback_follows_rollback_config_and_never_rolls_back_itself() -> None:
    s = specs_pb2.ServiceSpec()
    s.update_config.parallelism = 3
    s.update_config.failure_action = "rollback"
    assert policy_for(s, rolling_back=True).failure_action == "pause"
    assert policy_for(s, rolling_back=True).parallelism == 3  # update_config's pacing
    s.rollback_config.parallelism = 1
    s.rollback_config.failure_action = "continue"
    s.rollback_config.monitor_ms = 0
    p = policy_for(s, rolling_back=True)
    assert (p.parallelism, p.failure_action, p.monitor_ms) == (1, "continue", 0)
    s.rollback_config.failure_action = "rollback"
    assert policy_for(s, rolling_back=True).failure_action == "pause"


def test_what_counts_as_a_failed_new_task() -> None:
    t = objects_pb2.Task(service="web", slot=2)
    healthy = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, health=objects_pb2.HEALTH_HEALTHY,
                                     healthy_ms=50, started_ms=40)
    assert updates.new_task(t, healthy, has_healthcheck=True) == NewTask("web.2", True, "", 50)
    sick = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, failing_streak=3,
                                  health=objects_pb2.HEALTH_UNHEALTHY)
    assert updates.new_task(t, sick, has_healthcheck=True).failure == (
        "web.2 unhealthy (3 checks failed)")
    crashed = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, restarts=2, exit_code=1)
    assert updates.new_task(t, crashed, has_healthcheck=False).failure == (
        "web.2 restarted 2 times (last exit 1)")
    exited = objects_pb2.TaskStatus(state=objects_pb2.FAILED, exit_code=1,
                                    message="exited with code 1")
    assert updates.new_task(t, exited, has_healthcheck=False).failure == (
        "web.2 failed: exited with code 1")
    start = objects_pb2.TaskStatus(state=objects_pb2.RUNNING, health=objects_pb2.HEALTH_STARTING)
    assert updates.new_task(t, start, has_healthcheck=True) == NewTask("web.2", False, "", 0)


# -- pacing --------------------------------------------------------------------------


def test_parallelism_counts_the_new_tasks_not_ready_yet() -> None:
    assert verdict(policy(parallelism=2), [], outdated=4).start == 2
    assert verdict(policy(parallelism=2), [starting(1)], outdated=3).start == 1
    assert verdict(policy(parallelism=2), [ok(1), ok(2)], outdated=2).start == 2
    assert verdict(policy(parallelism=0), [], outdated=4).start == 4


def test_the_next_batch_waits_the_delay_after_the_last_one_got_ready() -> None:
    p = policy(parallelism=1, delay_ms=5000)
    assert verdict(p, [ok(1, ready_ms=1000)], outdated=3, now_ms=3000).start == 0
    assert verdict(p, [ok(1, ready_ms=1000)], outdated=3, now_ms=6000).start == 1
    p2 = policy(parallelism=2, delay_ms=5000)
    # A batch finishes before the next one starts, whatever the parallelism.
    assert verdict(p2, [ok(1, 0), starting(2)], outdated=2, now_ms=9000).start == 0


def test_an_update_completes_once_the_last_new_task_was_watched_for_monitor() -> None:
    p = policy(monitor_ms=5000)
    new = [ok(1, 1000), ok(2, 2000)]
    assert verdict(p, new, outdated=0, replicas=2, now_ms=4000).update == UPDATING
    done = verdict(p, new, outdated=0, replicas=2, now_ms=7000)
    assert done.update.state == objects_pb2.UPDATE_COMPLETED
    assert done.update.finished_ms == 7000
    assert done.event == "update of web completed"
    # not while a slot still runs the old version
    assert verdict(p, new, outdated=1, replicas=3, now_ms=9000).update == UPDATING


# -- failures ------------------------------------------------------------------------


def test_pause_stops_replacing_and_says_why() -> None:
    v = verdict(policy(failure_action="pause"), [ok(1), bad(2)], outdated=2)
    assert v.start == 0 and not v.rollback
    assert v.update.state == objects_pb2.UPDATE_PAUSED
    assert v.update.message == "web.2 unhealthy (3 checks failed)"
    assert v.update.failed_hash == "h2"
    assert v.event.startswith("update of web paused: web.2 unhealthy (3 checks failed); ")
    # and it stays paused: nothing more is replaced, whatever the tasks do
    again = verdict(policy(), [ok(1), ok(2)], outdated=2, update=v.update)
    assert (again.start, again.update) == (0, v.update)


def test_rollback_puts_the_previous_spec_back() -> None:
    v = verdict(policy(failure_action="rollback"), [bad(1)], outdated=3)
    assert v.rollback and v.start == 0
    assert v.update.state == objects_pb2.ROLLING_BACK
    assert v.update.failed_hash == "h2"
    assert v.event == ("update of web failed: web.1 unhealthy (3 checks failed); rolling back "
                       "to the previous version")


def test_rollback_without_a_previous_spec_pauses() -> None:
    v = verdict(policy(failure_action="rollback"), [bad(1)], outdated=3, can_roll_back=False)
    assert not v.rollback and v.update.state == objects_pb2.UPDATE_PAUSED
    assert "no previous version" in v.event


def test_continue_goes_on_and_failed_tasks_do_not_hold_a_slot() -> None:
    v = verdict(policy(failure_action="continue", parallelism=1), [bad(1)], outdated=3)
    assert v.start == 1 and v.update == UPDATING
    done = verdict(policy(failure_action="continue"), [bad(1), ok(2)], outdated=0, replicas=2)
    assert done.update.state == objects_pb2.UPDATE_COMPLETED
    assert done.update.message.startswith("completed with 1 failed: web.1 unhealthy")


def test_max_failure_ratio_allows_that_many_failures() -> None:
    p = policy(max_failure_ratio=0.25, failure_action="rollback")
    assert not verdict(p, [bad(1)], outdated=3, replicas=4).rollback  # 1/4 is not above
    assert verdict(p, [bad(1), bad(2)], outdated=2, replicas=4).rollback


def test_a_failing_rollback_pauses_and_keeps_the_first_reason_hash() -> None:
    back = objects_pb2.UpdateStatus(state=objects_pb2.ROLLING_BACK, started_ms=5,
                                    failed_hash="h2", message="web.1 unhealthy")
    v = judge(service="web", policy=policy(failure_action="pause"), update=back, replicas=2,
              new=[bad(1)], outdated=1, spec_hash="h1", can_roll_back=True, now_ms=9)
    assert v.update.state == objects_pb2.ROLLBACK_PAUSED
    assert v.update.failed_hash == "h2"
    assert v.event.startswith("rollback of web paused: ")


def test_a_rollback_ends_rolled_back() -> None:
    back = objects_pb2.UpdateStatus(state=objects_pb2.ROLLING_BACK, started_ms=5,
                                    failed_hash="h2", message="web.1 unhealthy")
    v = judge(service="web", policy=policy(), update=back, replicas=1, new=[ok(1, 10)],
              outdated=0, spec_hash="h1", can_roll_back=True, now_ms=20)
    assert v.update.state == objects_pb2.ROLLED_BACK
    assert v.update.message == "web.1 unhealthy"  # why it was rolled back stays
    assert v.event == "web rolled back to the previous version"


def test_failures_outside_an_update_are_the_restart_policys_business() -> None:
    for state in (objects_pb2.UPDATE_STATE_UNSPECIFIED, objects_pb2.UPDATE_COMPLETED,
                  objects_pb2.ROLLED_BACK):
        update = objects_pb2.UpdateStatus(state=state)  # type: ignore[arg-type]
        v = verdict(policy(failure_action="rollback"), [bad(1)], outdated=0, update=update)
        assert (v.rollback, v.update, v.event) == (False, update, "")


# -- properties ----------------------------------------------------------------------

tasks_st = st.lists(st.sampled_from(["ok", "starting", "bad"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(kinds=tasks_st, outdated=st.integers(0, 8), parallelism=st.integers(0, 5),
       ratio=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
       action=st.sampled_from(["pause", "continue", "rollback"]),
       delay=st.sampled_from([0, 1000]), now=st.integers(0, 5000),
       state=st.sampled_from([objects_pb2.UPDATING, objects_pb2.ROLLING_BACK,
                              objects_pb2.UPDATE_PAUSED, objects_pb2.UPDATE_COMPLETED]))
def test_judge_never_oversteps(kinds: list[str], outdated: int, parallelism: int,
                               ratio: float, action: str, delay: int, now: int,
                               state: int) -> None:
    make = {"ok": ok, "starting": starting, "bad": bad}
    new = [make[k](i + 1) for i, k in enumerate(kinds)]
    replicas = len(new) + outdated
    p = policy(parallelism=parallelism, max_failure_ratio=ratio, failure_action=action,
               delay_ms=delay)
    update = objects_pb2.UpdateStatus(state=state, started_ms=0)  # type: ignore[arg-type]
    v = judge(service="web", policy=p, update=update, replicas=replicas, new=new,
              outdated=outdated, spec_hash="h", can_roll_back=True, now_ms=now)
    in_flight = kinds.count("starting")
    assert 0 <= v.start <= outdated
    if parallelism:
        assert v.start + in_flight <= max(parallelism, in_flight)
    failed = kinds.count("bad")
    too_many = failed and failed > ratio * max(replicas, 1)
    if state in (objects_pb2.UPDATE_PAUSED, objects_pb2.UPDATE_COMPLETED):
        assert not v.rollback
    if state == objects_pb2.UPDATE_PAUSED:
        assert v.start == 0
    if v.rollback:
        assert state == objects_pb2.UPDATING and action == "rollback" and too_many
    if state == objects_pb2.UPDATING and too_many and action != "continue":
        assert v.start == 0
        assert v.update.state in (objects_pb2.UPDATE_PAUSED, objects_pb2.ROLLING_BACK)
    ended = v.update.state != state and v.update.state in (objects_pb2.UPDATE_COMPLETED,
                                                           objects_pb2.ROLLED_BACK)
    if ended:
        assert outdated == 0 and in_flight == 0


# -- whole rounds --------------------------------------------------------------------


def _updated(order: str, action: str, replicas: int = 2) -> tuple[
        objects_pb2.Service, objects_pb2.Service]:
    """v1 stored, then v2 applied over it, as the Control API writes them."""
    s1 = spec("web", replicas=replicas, image="registry:5000/app:1",
              healthcheck=["CMD", "true"])
    for s in (s1,):
        s.update_config.parallelism = 1
        s.update_config.order = order
        s.update_config.failure_action = action
        s.update_config.monitor_ms = 0
    s2 = specs_pb2.ServiceSpec()
    s2.CopyFrom(s1)
    s2.image = "registry:5000/app:2"
    v1 = service("shop", s1)
    [diff] = diff_services(app="shop", stored={"web": v1},
                           spec=specs_pb2.AppSpec(name="shop", services=[s2]), now_ms=5)
    assert diff.service is not None
    return v1, diff.service


def _healthy(started: int = 1) -> objects_pb2.TaskStatus:
    return objects_pb2.TaskStatus(state=objects_pb2.RUNNING, health=objects_pb2.HEALTH_HEALTHY,
                                  started_ms=started, healthy_ms=started)


def test_an_apply_that_changes_the_spec_starts_an_update_from_the_stored_one() -> None:
    v1, v2 = _updated("start-first", "rollback")
    assert v2.update.state == objects_pb2.UPDATING and v2.update.started_ms == 5
    assert v2.previous_spec == v1.spec
    # a count changed alone keeps the update where it stands
    s3 = specs_pb2.ServiceSpec()
    s3.CopyFrom(v2.spec)
    s3.replicas = 5
    [diff] = diff_services(app="shop", stored={"web": v2},
                           spec=specs_pb2.AppSpec(name="shop", services=[s3]), now_ms=9)
    assert diff.service is not None
    assert diff.service.update == v2.update and diff.service.previous_spec == v1.spec


def test_an_unhealthy_start_first_update_rolls_back_and_the_old_tasks_never_stop() -> None:
    v1, v2 = _updated("start-first", "rollback")
    old = [task(v1, i, tid=f"old{i}", node="n1", created_ms=i) for i in (1, 2)]
    fresh = task(v2, 1, tid="new1", node="n1", created_ms=10)
    statuses = {"old1": _healthy(), "old2": _healthy(),
                "new1": objects_pb2.TaskStatus(state=objects_pb2.RUNNING, failing_streak=3,
                                               health=objects_pb2.HEALTH_UNHEALTHY)}
    view = view_of(apps=[app("shop", [v2.spec])], services=[v2], tasks=[*old, fresh],
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=20, new_id=counter_ids())
    assert not [t for t in d.update_tasks if t.desired_state == REMOVE]
    assert not d.create_tasks
    [back] = d.update_services
    assert back.spec == v1.spec and back.spec_hash == v1.spec_hash == service_hash(v1.spec)
    assert back.update.state == objects_pb2.ROLLING_BACK
    assert back.update.failed_hash == v2.spec_hash
    assert any("rolling back to the previous version" in e.message for e in d.events)
    # The next round drops the failed task; the old ones serve on, untouched.
    view = view_of(apps=[app("shop", [v2.spec])], services=[back], tasks=[*old, fresh],
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=30, new_id=counter_ids("b"))
    assert [t.meta.id for t in d.update_tasks if t.desired_state == REMOVE] == ["new1"]
    assert not d.create_tasks
    # Once only the old ones are left, and watched, the rollback is done.
    view = view_of(apps=[app("shop", [v2.spec])], services=[back], tasks=old,
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=40, new_id=counter_ids("c"))
    [done] = d.update_services
    assert done.update.state == objects_pb2.ROLLED_BACK


def test_a_paused_stop_first_update_replaces_nothing_more() -> None:
    v1, v2 = _updated("stop-first", "pause", replicas=3)
    old = [task(v1, i, tid=f"old{i}", node="n1", created_ms=i) for i in (2, 3)]
    crashed = task(v2, 1, tid="new1", node="n1", created_ms=10)
    statuses = {"old2": _healthy(), "old3": _healthy(),
                "new1": objects_pb2.TaskStatus(state=objects_pb2.RUNNING, restarts=1,
                                               exit_code=2)}
    view = view_of(apps=[app("shop", [v2.spec])], services=[v2], tasks=[*old, crashed],
                   statuses=statuses, nodes=[node("n1")])
    d = plan_round(view, now_ms=20, new_id=counter_ids())
    assert not d.create_tasks
    assert not [t for t in d.update_tasks if t.desired_state == REMOVE]
    [paused] = d.update_services
    assert paused.update.state == objects_pb2.UPDATE_PAUSED
    assert paused.update.message == "web.1 restarted 1 time (last exit 2)"
    view = view_of(apps=[app("shop", [v2.spec])], services=[paused], tasks=[*old, crashed],
                   statuses={**statuses, "new1": _healthy()}, nodes=[node("n1")])
    d = plan_round(view, now_ms=30, new_id=counter_ids("b"))
    assert not d.create_tasks
    assert not [t for t in d.update_tasks if t.desired_state == REMOVE]
