"""The pure parts of `dockyard exec`: which task it runs in, what is a valid request, what
the node is asked, and the in-memory runtime's commands."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.agent.exec import spec_of
from dockyard.agent.runtime.driver import STDERR, STDOUT, ExecSpec
from dockyard.agent.runtime.fake_exec import FakeExec
from dockyard.cli.exec import command_words, parse_target
from dockyard.client.errors import CliError
from dockyard.controlplane.admission import EXEC_MAX_ARGS, exec_problem
from dockyard.controlplane.api.exec import pick_task, request_for
from dockyard.v1 import control_pb2, objects_pb2


def task(tid: str, slot: int, state: int = objects_pb2.RUNNING, service: str = "web",
         node: str = "h1", container: str = "c") -> objects_pb2.Task:
    t = objects_pb2.Task(service=service, slot=slot, node=node)
    t.meta.id = tid
    t.status.state = state  # type: ignore[assignment]
    t.status.container_id = container
    return t


def test_the_lowest_running_slot_unless_one_is_named() -> None:
    tasks = [task("a", 3), task("b", 1, state=objects_pb2.PREPARING), task("c", 2),
             task("d", 1, service="db"), task("e", 4, container="")]
    assert pick_task(tasks, "web", 0).meta.id == "c"  # type: ignore[union-attr]
    assert pick_task(tasks, "web", 3).meta.id == "a"  # type: ignore[union-attr]
    assert pick_task(tasks, "web", 1) is None  # not running yet
    assert pick_task(tasks, "web", 4) is None  # no container
    assert pick_task(tasks, "cache", 0) is None


def start(**kw: object) -> control_pb2.ExecStart:
    base: dict[str, object] = {"app": "shop", "service": "web", "argv": ["sh"]}
    return control_pb2.ExecStart(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "says"), [
    ({"argv": []}, "needs a command"),
    ({"argv": [""]}, "needs a command"),
    ({"argv": ["x"] * (EXEC_MAX_ARGS + 1)}, "at most"),
    ({"argv": ["a" * 70_000]}, "KiB"),
    ({"argv": ["a\0b"]}, "NUL"),
    ({"env": ["=x"]}, "KEY=VALUE"),
    ({"env": ["PLAIN"]}, "KEY=VALUE"),
    ({"rows": 1_000_000}, "terminal size"),
    ({"app": "Not_A_Name"}, "app"),
    ({"service": ""}, "service"),
])
def test_bad_starts_are_named(kw: dict[str, object], says: str) -> None:
    problem = exec_problem(start(**kw))
    assert problem is not None and says in problem
    assert "\n" not in problem


# Text protobuf can carry: no NUL (refused on purpose), no lone surrogates.
WORD_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(st.lists(st.text(WORD_CHARS, min_size=1, max_size=40),
                min_size=1, max_size=20),
       st.lists(st.tuples(st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True),
                          st.text(WORD_CHARS, max_size=20)),
                max_size=5))
def test_any_reasonable_command_is_accepted_and_passed_on_unchanged(
        argv: list[str], env: list[tuple[str, str]]) -> None:
    s = start(argv=argv, env=[f"{k}={v}" for k, v in env], tty=True, rows=40, cols=120)
    assert exec_problem(s) is None
    req = request_for(task("t1", 1), s)
    assert list(req.argv) == argv and req.task_id == "t1"
    spec = spec_of(req)
    assert spec == ExecSpec(argv=tuple(argv), tty=True, stdin=False, rows=40, cols=120,
                            env=tuple(f"{k}={v}" for k, v in env))


def test_targets_and_command_words() -> None:
    assert parse_target("shop/web") == ("shop", "web", 0)
    assert parse_target("shop/web/3") == ("shop", "web", 3)
    for bad in ("shop", "shop/web/x", "shop//1", "a/b/c/d"):
        with pytest.raises(CliError):
            parse_target(bad)
    assert command_words(["--", "ls", "-l"]) == ["ls", "-l"]
    assert command_words(["ls", "--", "x"]) == ["ls", "--", "x"]
    with pytest.raises(CliError):
        command_words(["--"])


def test_the_in_memory_runtime_answers_like_a_small_shell() -> None:
    cat = FakeExec(ExecSpec(argv=("cat",), stdin=True))
    cat.write(b"one ")
    cat.write(b"two")
    cat.close_input()
    assert list(cat.output()) == [(STDOUT, b"one "), (STDOUT, b"two")]
    assert cat.exit_code() == 0
    missing = FakeExec(ExecSpec(argv=("nope",)))
    assert list(missing.output()) == [(STDERR, b"nope: not found\n")]
    assert missing.exit_code() == 127
    quits = FakeExec(ExecSpec(argv=("exit", "300")))
    assert list(quits.output()) == [] and quits.exit_code() == 300 % 256
