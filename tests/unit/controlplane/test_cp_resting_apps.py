"""Which changes are news to the leader, and which apps it keeps at rest between rounds
(reconcile/quiet.py, `RestingApps`): only statuses of an app its last round found at
rest may wait for the cheap round's pause; the leader's own count write is no news; an
app changed in any other way (deleted, scaled, a task written) leaves the set at once,
between rounds or while a round runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.controlplane.reconcile.quiet import RestingApps
from dockyard.controlplane.store import keys
from dockyard.controlplane.store.codec import encode
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import objects_pb2
from tests.unit.controlplane.builders import service, spec, status, task

APPS = ["shop", "blog", "wiki"]


def _statuses(*apps: str) -> Touched:
    return Touched(kinds={"status"}, apps=set(apps), statuses=set(apps))


def _structure(*apps: str) -> Touched:
    return Touched(kinds={"apps"}, apps=set(apps), structure=set(apps))


def _rested(*apps: str) -> RestingApps:
    rest = RestingApps()
    rest.after_round(apps=set(), quiet=set(apps), found=set(apps), changed_since=set())
    return rest


def test_statuses_of_an_app_at_rest_are_not_news_and_of_another_are() -> None:
    rest = _rested("shop")
    assert not rest.news(_statuses("shop"), reloaded=False)
    assert rest.news(_statuses("shop", "blog"), reloaded=False)



def test_the_echo_of_a_lost_round_is_like_a_status_and_keeps_an_app_at_rest() -> None:
    rest = _rested("shop")
    assert not rest.news(_structure("shop"), reloaded=False, echo={"shop"})
    assert rest.apps == {"shop"}
    assert rest.news(_structure("blog"), reloaded=False, echo={"blog"})  # not at rest
    assert rest.news(_structure("shop", "wiki"), reloaded=False, echo={"shop"})
    assert rest.apps == {"shop"}

def test_the_leaders_own_count_write_is_no_news_for_an_app_not_at_rest() -> None:
    view = ClusterView()
    web = service("blog", spec("web", replicas=1))
    view.apply(keys.service_key("blog", "web"), encode(web), 1)
    counted = objects_pb2.Service()
    counted.CopyFrom(web)
    counted.status.running = 1
    touched = Touched()
    view.apply(keys.service_key("blog", "web"), encode(counted), 2, touched)
    assert not RestingApps().news(touched, reloaded=False)


def test_an_app_deleted_between_rounds_is_no_longer_at_rest() -> None:
    view = ClusterView()
    web = service("shop", spec("web", replicas=1))
    view.apply(keys.task_key("shop", "t1"), encode(task(web, 1, tid="t1", node="n0")), 1)
    rest = _rested("shop")
    deleted = Touched()
    view.apply(keys.task_key("shop", "t1"), None, 2, deleted)
    assert rest.news(deleted, reloaded=False)
    assert "shop" not in rest.apps
    late = Touched()  # a status that came as its task went: news now, not after a pause
    view.apply(keys.status_key("shop", "t1"), encode(status()), 3, late)
    assert rest.news(late, reloaded=False)


def test_an_app_changed_while_the_round_ran_is_not_at_rest_after_it() -> None:
    rest = RestingApps()
    rest.after_round(apps=set(), quiet={"shop", "blog"}, found={"shop", "blog"},
                     changed_since={"shop"})
    assert rest.apps == {"blog"}


def test_a_round_of_everything_and_a_reload_leave_no_app_at_rest() -> None:
    rest = _rested("shop")
    rest.after_round(apps=None, quiet=set(), found=set(), changed_since=set())
    assert rest.apps == set()
    rest = _rested("shop")
    assert rest.news(Touched(kinds={"status"}), reloaded=True)
    assert rest.apps == set()


def test_a_round_keeps_what_it_did_not_look_at() -> None:
    rest = _rested("shop", "blog")
    rest.after_round(apps={"blog"}, quiet={"wiki"}, found={"wiki"}, changed_since=set())
    assert rest.apps == {"shop", "wiki"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("round"), st.sets(st.sampled_from(APPS)),
              st.sets(st.sampled_from(APPS)), st.sets(st.sampled_from(APPS))),
    st.tuples(st.just("structure"), st.sets(st.sampled_from(APPS))),
    st.tuples(st.just("status"), st.sets(st.sampled_from(APPS)))), max_size=12))
def test_only_a_quiet_verdict_puts_an_app_at_rest_and_any_change_takes_it_out(
        steps: list[tuple[object, ...]]) -> None:
    rest = RestingApps()
    last_verdict: dict[str, bool] = {}  # app -> at rest by the last word on it
    for step in steps:
        if step[0] == "round":
            _, apps, quiet, found = step
            assert isinstance(apps, set) and isinstance(quiet, set) and isinstance(found, set)
            quiet_only = quiet - apps
            found &= quiet_only  # a round finds at rest only apps it took the quiet way
            rest.after_round(apps=apps, quiet=quiet_only, found=found, changed_since=set())
            for a in apps | quiet_only:
                last_verdict[a] = a in found
        elif step[0] == "structure":
            changed = step[1]
            assert isinstance(changed, set)
            assert rest.news(_structure(*changed), reloaded=False) == bool(changed)
            for a in changed:
                last_verdict[a] = False
        else:
            reported = step[1]
            assert isinstance(reported, set)
            news = rest.news(_statuses(*reported), reloaded=False)
            assert news == any(not last_verdict.get(a, False) for a in reported)
        assert rest.apps == {a for a, ok in last_verdict.items() if ok}


def test_the_status_that_makes_an_app_run_whole_is_news_once() -> None:
    rest = _rested("shop")
    assert not rest.news(_statuses("shop"), reloaded=False)  # some still to start
    assert rest.news(_statuses("shop"), reloaded=False, complete={"shop"})
    assert not rest.news(_statuses("shop"), reloaded=False, complete={"shop"})  # later ones
    assert not rest.news(_statuses("shop"), reloaded=False)  # one stopped: no count hurry
    assert rest.news(_statuses("shop"), reloaded=False, complete={"shop"})  # whole again


def test_the_view_counts_running_tasks_as_statuses_come_and_go() -> None:
    view = ClusterView()
    web = service("shop", spec("web", replicas=2))
    for tid in ("t1", "t2"):
        view.apply(keys.task_key("shop", tid), encode(task(web, 1, tid=tid, node="n0")), 1)
    assert not view.all_running("shop")
    running = objects_pb2.TaskStatus(state=objects_pb2.RUNNING)
    view.apply(keys.status_key("shop", "t1"), encode(running), 2)
    view.apply(keys.status_key("shop", "t1"), encode(running), 3)  # again: counted once
    assert not view.all_running("shop")
    view.apply(keys.status_key("shop", "t2"), encode(running), 4)
    assert view.all_running("shop")
    failed = objects_pb2.TaskStatus(state=objects_pb2.FAILED)
    view.apply(keys.status_key("shop", "t2"), encode(failed), 5)  # no longer running
    assert not view.all_running("shop")
    view.apply(keys.task_key("shop", "t2"), None, 6)
    view.apply(keys.status_key("shop", "t2"), None, 6)
    assert view.all_running("shop")  # the one task left runs
    assert not view.all_running("blog")  # no tasks: never whole
    rebuilt = ClusterView(tasks=dict(view.tasks), statuses=dict(view.statuses),
                          status_apps=dict(view.status_apps))
    assert rebuilt.running == view.running


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]),
                          st.sampled_from([None, *range(8)])), max_size=20))
def test_the_running_count_is_the_running_statuses(
        changes: list[tuple[str, int | None]]) -> None:
    view = ClusterView()
    for rev, (tid, state) in enumerate(changes, start=1):
        value = None if state is None else encode(objects_pb2.TaskStatus(state=state))
        view.apply(keys.status_key("shop", tid), value, rev)
    expected = sum(1 for s in view.statuses.values() if s.state == objects_pb2.RUNNING)
    assert view.running.get("shop", 0) == expected
