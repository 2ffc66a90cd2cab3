"""Where the CLI talks to: flags, env, contexts and defaults in one order (client/target.py), and
the pure parts of contexts.json (cli/contexts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.cli import contexts
from dockyard.client.target import (
    ClientTarget,
    Context,
    Contexts,
    parse_servers,
    resolve_client,
)

HOME = Path("/home/op")
PROD = Context("prod", ("10.0.0.1:7070", "10.0.0.2:7070"), "/keys/prod.pem")
DEV = Context("dev", ("127.0.0.1:7070",), "/keys/dev.pem")
KNOWN = Contexts(current="prod", entries=(DEV, PROD))


def resolve(*, server: str | None = None, credentials: str | None = None,
            context: str | None = None, env: dict[str, str] | None = None,
            known: Contexts = KNOWN) -> ClientTarget:
    return resolve_client(server=server, credentials=credentials, context=context,
                          env=env or {}, home=HOME, load_contexts=lambda: known)


def test_defaults_without_flags_env_or_contexts() -> None:
    t = resolve(known=Contexts())
    assert t.servers == ("127.0.0.1:7070",)
    assert t.credentials == HOME / ".dockyard" / "admin.pem"
    assert t.context == ""


def test_the_current_context_fills_both_fields() -> None:
    t = resolve()
    assert t.servers == PROD.servers and t.server == "10.0.0.1:7070,10.0.0.2:7070"
    assert t.credentials == Path(PROD.credentials)
    assert t.context == "prod"


def test_env_beats_the_current_context_field_by_field() -> None:
    t = resolve(env={"DOCKYARD_SERVER": "h:1"})
    assert t.servers == ("h:1",) and t.credentials == Path(PROD.credentials)
    t = resolve(env={"DOCKYARD_SERVER": "h:1", "DOCKYARD_CREDENTIALS": "~/c.pem"})
    assert t.servers == ("h:1",) and t.credentials == HOME / "c.pem" and t.context == ""


def test_flags_beat_everything() -> None:
    t = resolve(server="a:1,b:2", credentials="/x.pem", context="dev",
                env={"DOCKYARD_SERVER": "h:1", "DOCKYARD_CREDENTIALS": "/e.pem"})
    assert t.servers == ("a:1", "b:2") and t.credentials == Path("/x.pem")


def test_a_context_flag_beats_env_and_env_context_beats_current() -> None:
    env = {"DOCKYARD_SERVER": "h:1", "DOCKYARD_CONTEXT": "dev"}
    assert resolve(context="prod", env=env).servers == PROD.servers
    assert resolve(env={"DOCKYARD_CONTEXT": "dev"}).servers == DEV.servers


def test_the_contexts_file_is_not_read_when_flags_and_env_say_everything() -> None:
    def boom() -> Contexts:
        raise AssertionError("read")

    t = resolve_client(server="h:1", credentials=None, context=None,
                       env={"DOCKYARD_CREDENTIALS": "/e.pem"}, home=HOME, load_contexts=boom)
    assert t.servers == ("h:1",)


def test_an_unknown_context_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"no context named 'nope' \(known: dev, prod\)"):
        resolve(context="nope")


@pytest.mark.parametrize("text", ["", " , ", "host", "host:0", "host:99999", "a b:1", "h:1,x"])
def test_bad_server_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_servers(text)


def test_server_lists_keep_their_order() -> None:
    assert parse_servers(" b:2, a:1 ,[::1]:7070") == ("b:2", "a:1", "[::1]:7070")


def test_contexts_file_round_trip() -> None:
    text = contexts.dump_contexts(KNOWN)
    assert json.loads(text)["current"] == "prod"
    assert contexts.parse_contexts(text) == KNOWN
    assert contexts.parse_contexts("") == Contexts()


@pytest.mark.parametrize(("text", "needle"), [
    ("{", "not valid JSON"),
    ("[]", "want"),
    ('{"contexts": {"x": {"servers": "h:1"}}}', "servers"),
    ('{"contexts": {"-x": {"servers": ["h:1"]}}}', "bad context name"),
    ('{"contexts": {"x": {"servers": ["nope"]}}}', "bad server address"),
])
def test_a_broken_contexts_file_says_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        contexts.parse_contexts(text)


def test_a_current_name_without_its_context_means_none() -> None:
    c = contexts.parse_contexts('{"current": "gone", "contexts": {}}')
    assert c.current == ""


def test_add_use_and_remove() -> None:
    c = contexts.with_context(Contexts(), PROD)
    assert c.names == ("prod",) and c.current == ""
    c = contexts.with_context(c, DEV, use=True)
    assert c.names == ("dev", "prod") and c.current == "dev"
    with pytest.raises(ValueError, match="exists"):
        contexts.with_context(c, DEV)
    newer = Context("dev", ("127.0.0.1:8080",), "/k.pem")
    assert contexts.with_context(c, newer, replace_existing=True).get("dev") == newer
    c = contexts.using(c, "prod")
    assert c.current == "prod"
    with pytest.raises(ValueError, match="no context named"):
        contexts.using(c, "nope")
    c = contexts.without(c, "prod")
    assert c.names == ("dev",) and c.current == ""
    with pytest.raises(ValueError):
        contexts.without(c, "prod")


def test_context_rows_mark_the_current_one() -> None:
    rows = contexts.context_rows(KNOWN)
    assert [(r["name"], r["current"]) for r in rows] == [("dev", False), ("prod", True)]
