"""Secrets for real: the AMP app with its database passwords as Compose secrets.

The passwords are random for this run, so finding their bytes anywhere means they
leaked. The test looks where a user (or an attacker with a disk) would: etcd's data
files, `get apps -o json`, `describe app`, the server's and agents' logs, and every file
of the testbed on the host's disk outside the agents' tmpfs. The page working proves the
PHP tier read the password from its mounted file.
"""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.agent.files import filesystem_of
from dockyard.deploy.amp.build import build
from dockyard.deploy.testbed import TestbedStatus
from tests.e2e.harness import cli, cli_json, engine_containers, wait_for
from tests.e2e.test_amp import pinned_example

pytestmark = pytest.mark.e2e

APP = "ampsecret"
PORT = 8081


def page_ok(url: str) -> str | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as r:
            text = str(r.read().decode())
    except OSError:
        return None
    return text if "row from MariaDB" in text else None


@pytest.fixture(scope="module")
def app(bed: TestbedStatus, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[tuple[Path, bytes, bytes]]:
    """The AMP example as app `ampsecret` on port 8081, db on h1, php on h2, web not on
    h2, with fresh random passwords in files outside the testbed."""
    build(engine_socket=bed.hosts[0].docker_socket, registry=bed.registry)
    tmp = tmp_path_factory.mktemp("ampsecret")
    f = pinned_example(tmp)
    password, root_password = (secrets.token_hex(20).encode() for _ in range(2))
    (tmp / "secrets").mkdir(exist_ok=True)  # fresh passwords over the example's
    (tmp / "secrets" / "db_password.txt").write_bytes(password + b"\n")
    (tmp / "secrets" / "db_root_password.txt").write_bytes(root_password + b"\n")
    text = f.read_text().replace("name: amp\n", f"name: {APP}\n", 1)
    f.write_text(text.replace('"8080:80"', f'"{PORT}:80"'))
    out = cli(bed, "apply", "-f", str(f), "--wait", "--timeout", "300")
    assert f"app {APP} is up" in out.stdout, out.stdout
    yield tmp, password, root_password
    cli(bed, "delete", "app", APP)


def files_dir(bed: TestbedStatus, host: str) -> Path:
    return Path(bed.state_dir) / host / "files"


def test_the_page_works_with_the_password_read_from_the_secret_file(
    bed: TestbedStatus, app: tuple[Path, bytes, bytes]
) -> None:
    h3 = next(h for h in bed.hosts if h.name == "h3")
    text = wait_for("the page", lambda: page_ok(f"http://{h3.address}:{PORT}/"), timeout_s=60)
    assert "Hello from MariaDB" in text


def test_secrets_reach_only_the_nodes_that_use_them_from_tmpfs(
    bed: TestbedStatus, app: tuple[Path, bytes, bytes]
) -> None:
    _, password, root_password = app
    mounts = Path("/proc/self/mounts").read_text()
    held = {}
    for h in bed.hosts:
        d = files_dir(bed, h.name)
        assert filesystem_of(d, mounts) == "tmpfs", h.name
        held[h.name] = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
    assert held["h1"] == [f"secret/{APP}/db_password@1", f"secret/{APP}/db_root_password@1"]
    assert held["h2"] == [f"secret/{APP}/db_password@1"]  # php needs no root password
    assert held["h3"] == []  # web only: no secret there
    assert (files_dir(bed, "h1") / held["h1"][0]).read_bytes().strip() == password
    assert (files_dir(bed, "h1") / held["h1"][1]).read_bytes().strip() == root_password
    for host, containers in engine_containers(bed, APP).items():
        for c in containers:
            for m in c["Mounts"]:
                if m["Destination"].startswith("/run/secrets/"):
                    assert m["Source"].startswith(str(files_dir(bed, host))), m
                    assert m["RW"] is False, m
            env = "\n".join(c["Config"]["Env"] or [])
            assert password.decode() not in env and root_password.decode() not in env


def test_readers_and_logs_never_show_the_passwords(
    bed: TestbedStatus, app: tuple[Path, bytes, bytes]
) -> None:
    _, password, root_password = app
    shown = (cli(bed, "get", "apps", "-o", "json").stdout
             + cli(bed, "describe", "app", APP).stdout
             + cli(bed, "describe", "app", APP, "-o", "json").stdout
             + cli(bed, "events").stdout
             + cli(bed, "secret", "ls", "-o", "json").stdout)
    assert "secret db_password:" in cli(bed, "describe", "app", APP).stdout
    listed = {r["name"]: r for r in cli_json(bed, "secret", "ls")}
    assert listed[f"{APP}/db_password"]["used_by"] == [f"{APP}/db", f"{APP}/php"]
    state = Path(bed.state_dir)
    logs = [state / "server" / "server.log", *(state / h.name / "agent.log" for h in bed.hosts)]
    for secret in (password, root_password):
        assert secret.decode() not in shown
        for log in logs:
            assert secret not in log.read_bytes(), log


def _holding(root: Path, needles: tuple[bytes, ...], skip: tuple[Path, ...]) -> list[str]:
    """Files under `root` (not under `skip`) whose bytes contain a needle. Bounded: each
    file is read once, in chunks that overlap by the longest needle."""
    found = []
    overlap = max(len(n) for n in needles)
    for path in root.rglob("*"):
        if any(path.is_relative_to(s) for s in skip):
            continue
        try:
            if not path.is_file() or path.is_symlink():
                continue
            with path.open("rb") as f:
                tail = b""
                while chunk := f.read(1 << 22):
                    block = tail + chunk
                    if any(n in block for n in needles):
                        found.append(str(path))
                        break
                    tail = block[-overlap:]
        except OSError:
            continue  # a socket, a file gone meanwhile
    return found


def test_the_passwords_are_nowhere_on_disk_outside_tmpfs(
    bed: TestbedStatus, app: tuple[Path, bytes, bytes]
) -> None:
    """etcd's data files (WAL and snapshot database), the engines' data roots (container
    configs, logs, volumes), the agents' and server's directories: every file of the
    testbed but the agents' tmpfs. The user's own files under the test's directory hold
    the passwords, by design, and are not part of the testbed."""
    tmp, password, root_password = app
    state = Path(bed.state_dir)
    etcd_data = state / "server" / "etcd"
    assert any(etcd_data.rglob("*.wal")), "the embedded etcd's data files moved"
    needles = (password, root_password)
    assert _holding(etcd_data, needles, ()) == []
    tmpfs = tuple(files_dir(bed, h.name) for h in bed.hosts)
    assert _holding(state, needles, tmpfs) == []
    # The scan does find them where they are: the files given to apply, and the tmpfs.
    assert _holding(tmp, needles, ()) != []
    assert _holding(files_dir(bed, "h1"), needles, ()) != []


def test_deleting_the_app_removes_the_files_from_the_nodes(
    bed: TestbedStatus, app: tuple[Path, bytes, bytes]
) -> None:
    cli(bed, "delete", "app", APP)

    def gone() -> bool:
        return all(not any(p.is_file() for p in files_dir(bed, h.name).rglob("*"))
                   for h in bed.hosts)

    wait_for("the secret files removed from every node", gone, timeout_s=120)
    assert not any(r["name"].startswith(f"{APP}/") for r in cli_json(bed, "secret", "ls"))
