"""The CLI's everyday habits in small: the first start's join command, event lines, the
command word that decides which flags to build, and the dev-cluster context (in a
temporary HOME)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.cli import contexts
from dockyard.cli.main import _command_word, build_parser
from dockyard.cli.watch import event_line, event_row
from dockyard.client.target import Context, Contexts
from dockyard.controlplane.firststart import first_start_message, join_address
from dockyard.v1 import objects_pb2


def test_join_address_replaces_a_wildcard_host() -> None:
    assert join_address("0.0.0.0:7070", "10.1.2.3") == "10.1.2.3:7070"
    assert join_address("[::]:7070", "10.1.2.3") == "10.1.2.3:7070"
    assert join_address("127.0.0.1:9000", "10.1.2.3") == "127.0.0.1:9000"


def test_first_start_message_has_the_exact_join_command() -> None:
    text = first_start_message(listen="0.0.0.0:7070", data_dir=Path("/var/lib/dockyard"),
                               admin_copy=Path("/root/.dockyard/admin.pem"), host_ip="10.0.0.5")
    assert ("  dockyard agent --join 10.0.0.5:7070 --token-file /var/lib/dockyard/join-token"
            in text.splitlines())
    assert "/var/lib/dockyard/admin.pem (a copy is at /root/.dockyard/admin.pem)" in text


def test_event_line_and_row() -> None:
    ev = objects_pb2.Event(timestamp_ms=1_700_000_000_123, kind="app", object="shop",
                           message="applied: web created", app="shop")
    row = event_row(ev)
    assert row == {"timestamp_ms": 1_700_000_000_123, "kind": "app", "object": "shop",
                   "app": "shop", "message": "applied: web created"}
    assert event_line(row, utc=True) == (
        "2023-11-14 22:13:20.123  app      shop  applied: web created")


def test_command_word_is_the_first_word_unless_an_option() -> None:
    assert _command_word(["--version"]) is None
    assert _command_word(["get", "nodes"]) == "get"
    assert _command_word([]) is None
    assert _command_word(["--help", "get"]) is None  # the whole parser's help


COMMAND_LINES = [
    ["get", "tasks", "-o", "json"], ["get", "nodes", "--app", "a", "--server", "h:1"],
    ["apply", "-f", "c.yaml", "--wait", "--allow", "host-network"], ["describe", "app", "a"],
    ["scale", "a/web=3"], ["logs", "-f", "a/web"], ["exec", "-it", "a/web/2", "--", "sh"],
    ["node", "drain", "n1", "--force"], ["volume", "forget", "a/v"], ["token", "agent"],
    ["secret", "create", "s", "-f", "x"], ["configs", "ls"], ["context", "use", "prod"],
    ["events", "-f", "--app", "a"], ["history", "a"], ["rollback", "a", "--to", "3"],
    ["console-token"], ["completion", "zsh"], ["server", "--listen", "127.0.0.1:1"],
    ["dev-cluster", "up", "--hollow", "3"], ["agent", "--join", "h:1"], ["delete", "app", "a"],
]


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=[" ".join(a) for a in COMMAND_LINES])
def test_the_parser_of_one_command_reads_its_line_as_the_whole_parser(argv: list[str]) -> None:
    one = build_parser(argv[0])
    sub = next(a for a in one._actions if a.dest == "command")
    assert list(sub.choices) == [argv[0]]  # type: ignore[arg-type]
    assert vars(one.parse_args(argv)) == vars(build_parser("").parse_args(argv))


def test_a_word_that_is_no_command_gets_the_whole_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser("gte").parse_args(["gte", "tasks"])
    err = capsys.readouterr().err
    assert "invalid choice: 'gte'" in err and "'get'" in err and "'apply'" in err


def test_the_agent_flags_are_built_only_for_the_agent() -> None:
    def agent_flags(parser_command: str | None) -> set[str]:
        parser = build_parser(parser_command)
        sub = next(a for a in parser._actions if a.dest == "command")
        agent = sub.choices["agent"]  # type: ignore[index]
        return {o for a in agent._actions for o in a.option_strings}

    assert "--join" in agent_flags("agent")
    assert "--join" in agent_flags("")
    assert "--join" not in agent_flags(None)  # --help, --version


def test_dev_cluster_context_is_written_current_and_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    path = contexts.contexts_path()
    contexts.save(path, contexts.with_context(
        Contexts(), Context("prod", ("10.0.0.1:7070",), "/p.pem"), use=True))
    note = contexts.keep_dev_context(["10.9.0.1:7070", "10.9.0.1:7071"], "/bed/admin.pem")
    assert "context dev is current" in note
    kept = contexts.load(path)
    assert kept.current == "dev"
    assert kept.get("dev") == Context("dev", ("10.9.0.1:7070", "10.9.0.1:7071"),
                                      "/bed/admin.pem")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    contexts.keep_dev_context(["10.9.0.1:7070"], "/bed/admin.pem")  # a second up replaces
    assert contexts.load(path).get("dev") == Context("dev", ("10.9.0.1:7070",),
                                                     "/bed/admin.pem")
    contexts.drop_dev_context()
    assert contexts.load(path).names == ("prod",) and contexts.load(path).current == ""
    contexts.drop_dev_context()  # nothing to drop: no error
