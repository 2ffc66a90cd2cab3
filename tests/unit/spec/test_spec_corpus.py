"""A corpus of Compose files in the styles real projects use (tests/data/compose-real/):
at least 95% load as they are, exactly as `dockyard config` loads them, and every
refusal is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.client.compose_files import load_compose
from dockyard.common.spec.privileges import required_privileges

CORPUS = Path(__file__).resolve().parents[2] / "data" / "compose-real"
FILES = sorted(CORPUS.glob("*/compose.yaml"))


def _config(path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """`dockyard config -f PATH` as a user runs it: (exit code, stdout, stderr)."""
    import signal

    from dockyard.cli.main import main

    monkeypatch.setattr(signal, "signal", lambda *_a: None)  # main's SIGPIPE, not pytest's
    capsys.readouterr()
    code = main(["config", "-f", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 30


def test_at_least_95_percent_are_accepted_and_refusals_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    accepted: list[str] = []
    refused: dict[str, str] = {}
    for path in FILES:
        code, out, err = _config(path, capsys, monkeypatch)
        if code == 0:
            assert out.startswith("name: "), (path.parent.name, out[:200])
            assert "error:" not in err, (path.parent.name, err)
            accepted.append(path.parent.name)
        else:
            assert code == 1 and not out, (path.parent.name, code, out)
            refused[path.parent.name] = err
    share = len(accepted) / len(FILES)
    with capsys.disabled():  # the figure, for whoever runs this with -s
        print(f"\ncorpus: {len(accepted)} of {len(FILES)} accepted by dockyard config "
              f"({100 * share:.1f}%); refused: {sorted(refused) or 'none'}")
    assert share >= 0.95, refused
    for name, err in refused.items():
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert "not supported by Dockyard: " in lines[0], (name, err)
        assert "Traceback" not in err


def test_a_container_in_another_services_network_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = CORPUS / "vpn-sidecar" / "compose.yaml"
    code, out, err = _config(path, capsys, monkeypatch)
    assert (code, out) == (1, "")
    assert err == (
        f"error: {path}: service \"torrent\": network_mode: "
        '"service:gluetun" is not supported by Dockyard: tasks of different services may '
        "run on different nodes\n"
    )


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("wordpress", set()),
        ("traefik-whoami", {"host-binds"}),
        ("home-assistant", {"privileged", "host-namespaces", "devices"}),
        ("node-exporter", {"host-binds", "host-namespaces", "privileged", "devices"}),
        ("pihole", {"capabilities"}),
        ("hardened", set()),
    ],
)
def test_privileges_the_corpus_asks_for(name: str, needed: set[str]) -> None:
    loaded = load_compose([str(CORPUS / name / "compose.yaml")])
    assert required_privileges(loaded.spec) == needed


def _service(folder: str, name: str):  # type: ignore[no-untyped-def]
    spec = load_compose([str(CORPUS / folder / "compose.yaml")]).spec
    return next(s for s in spec.services if s.name == name)


def test_what_the_corpus_is_read_as() -> None:
    assert _service("flask-redis", "web").build.context == "."
    elastic = _service("elk", "elasticsearch")
    assert [(u.name, u.soft, u.hard) for u in elastic.ulimits] == [
        ("memlock", -1, -1), ("nofile", 65536, 65536),
    ]  # fmt: skip
    assert elastic.limits.memory_bytes == 1024**3
    logged = _service("logging-anchors", "api")
    assert (logged.logging.driver, dict(logged.logging.options)) == (
        "json-file", {"max-size": "10m", "max-file": "3"},
    )  # fmt: skip
    dev = _service("devcontainer", "dev")
    assert (dev.platform, dev.tty, dev.stdin_open, dev.pids_limit) == (
        "linux/amd64", True, True, 512,
    )  # fmt: skip
    assert dict(dev.sysctls) == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert list(_service("pihole", "pihole").extra_hosts) == [
        "router.lan:192.168.1.1", "nas.lan:192.168.1.20",
    ]  # fmt: skip
    notebook = _service("jupyter", "notebook")
    assert notebook.shm_size_bytes == 2 * 1024**3
    assert dict(notebook.build.args) == {
        "PYTHON_VERSION": "3.12", "EXTRA_PACKAGES": "pandas scikit-learn",
    }  # fmt: skip
    hardened = _service("hardened", "api")
    assert dict(hardened.tmpfs) == {"/tmp": "size=32m,mode=1777", "/run": ""}
    assert (hardened.read_only, hardened.init, list(hardened.security_opt)) == (
        True, True, ["no-new-privileges:true"],
    )  # fmt: skip
    beat = _service("extends-common", "beat")
    assert list(beat.command.args) == ["python", "-m", "app.beat"]
    assert beat.environment["LOG_LEVEL"] == "info" and beat.environment["BEAT"] == "1"
    redis = _service("include-infra", "redis")
    assert redis.volumes[0].source == "./infra/redis.conf"  # relative to the main file
    shop = load_compose([str(CORPUS / "secrets-configs" / "compose.yaml")]).spec
    assert {o.name: o.data for o in shop.secrets}["api_key"] == b"test-key-from-dotenv"


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name != "vpn-sidecar"],
                         ids=lambda p: p.parent.name)  # fmt: skip
def test_config_output_loads_back_into_the_same_app(path: Path) -> None:
    from dockyard.client.compose import load_app, render_app

    spec = load_compose([str(path)]).spec
    files = {obj.name: obj.data for obj in [*spec.secrets, *spec.configs]}
    again = load_app(render_app(spec), read_file=lambda name: files[name], default_name="x")
    assert again.spec == spec
