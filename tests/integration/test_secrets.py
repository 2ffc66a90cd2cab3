"""Secrets and configs as a user meets them, against a real server and its etcd: create,
list, remove, Compose `external: true`, new versions that roll services, what readers
see, what etcd holds, the migration of old inline secrets, and a lost key file."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from dockyard.common.files import owned_name
from dockyard.controlplane.security.datakey import DATA_KEY_KEY
from dockyard.controlplane.store import keys
from dockyard.v1 import objects_pb2
from tests.integration.etcd_read import embedded_read
from tests.integration.harness import ServerProcess, run_cli, wait_port_free

pytestmark = pytest.mark.integration

APP = """
name: shop
services:
  db:
    image: 127.0.0.1:5000/busybox:latest
    command: ["sleep", "3600"]
    secrets: [db_password]
  web:
    image: 127.0.0.1:5000/busybox:latest
    command: ["sleep", "3600"]
    secrets: [api_key]
    configs: [site]
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    external: true
configs:
  site:
    content: "listen 80"
"""


def services(server: ServerProcess) -> dict[str, str]:
    """The stored services of the app shop, as etcd holds them."""
    db, web = embedded_read(server.data_dir, server.etcd_port, keys.service_key("shop", "db"),
                            keys.service_key("shop", "web"))
    return {"db": db, "web": web}


def listed(server: ServerProcess, command: str = "secret") -> dict[str, dict[str, object]]:
    rows = json.loads(run_cli(server, command, "ls", "-o", "json").stdout)
    return {str(r["name"]): r for r in rows}


def get_app_bytes(server: ServerProcess) -> bytes:
    """Everything a reader can get about the app, as bytes."""
    out = b""
    for args in (("get", "apps", "-o", "json"), ("get", "services", "-o", "json"),
                 ("describe", "app", "shop"), ("describe", "app", "shop", "-o", "json"),
                 ("events",), ("secret", "ls", "-o", "json")):
        out += run_cli(server, *args).stdout.encode()
    return out


def test_secret_lifecycle_external_versions_and_what_readers_see(
    server: ServerProcess, tmp_path: Path
) -> None:
    password = secrets.token_hex(16)
    api_key = secrets.token_hex(16)
    (tmp_path / "db_password.txt").write_text(password)
    (tmp_path / "api_key.txt").write_text(api_key)
    f = tmp_path / "compose.yaml"
    f.write_text(APP)

    # The external secret does not exist yet: refused, naming the service and secret.
    out = run_cli(server, "apply", "-f", str(f), check=False)
    assert out.returncode == 1
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert 'service "web"' in line and 'secret "api_key"' in line and "secret create" in line
    assert json.loads(run_cli(server, "get", "apps", "-o", "json").stdout) == []
    assert embedded_read(server.data_dir, server.etcd_port, keys.FILES["secret"]) == [0]

    made = run_cli(server, "secret", "create", "api_key", "-f", str(tmp_path / "api_key.txt"))
    assert "secret api_key version 1" in made.stdout
    run_cli(server, "apply", "-f", str(f))
    rows = listed(server)
    assert rows["api_key"]["version"] == 1 and rows["api_key"]["used_by"] == ["shop/web"]
    assert rows[owned_name("shop", "db_password")]["used_by"] == ["shop/db"]
    assert rows[owned_name("shop", "db_password")]["app"] == "shop"
    assert listed(server, "configs")["shop/site"]["used_by"] == ["shop/web"]

    # Readers see names, versions and digests, never the content.
    seen = get_app_bytes(server)
    assert password.encode() not in seen and api_key.encode() not in seen
    describe = run_cli(server, "describe", "app", "shop").stdout
    assert "secret db_password: shop/db_password version 1" in describe
    # etcd holds ciphertext only: not in the secret's key, nor the app, nor the services.
    raw = embedded_read(server.data_dir, server.etcd_port,
                        keys.file_key("secret", "shop/db_password"),
                        keys.file_key("secret", "api_key"), keys.app_key("shop"),
                        keys.service_key("shop", "db"), keys.service_key("shop", "web"))
    assert all(v is not None for v in raw)
    assert not any(password in v or api_key in v for v in raw)

    # The same file again changes nothing; a new content is a new version that rolls
    # only the services using it.
    assert "shop/db unchanged" in run_cli(server, "apply", "-f", str(f)).stdout
    before = services(server)
    (tmp_path / "api_key.txt").write_text(secrets.token_hex(16))
    again = run_cli(server, "secret", "create", "api_key", "-f", str(tmp_path / "api_key.txt"))
    assert "version 2" in again.stdout
    after = services(server)
    assert after["web"] != before["web"] and after["db"] == before["db"]
    assert "secret api_key is now version 2: rolling web" in run_cli(server, "events").stdout
    (tmp_path / "db_password.txt").write_text(secrets.token_hex(16))
    assert "shop/db updated" in run_cli(server, "apply", "-f", str(f)).stdout
    assert listed(server)["shop/db_password"]["version"] == 2

    # rm: refused while used, or for an app's own secret; then the app goes, and the
    # secret can go.
    out = run_cli(server, "secret", "rm", "api_key", check=False)
    assert out.returncode == 1 and "used by shop/web" in out.stderr
    out = run_cli(server, "secret", "rm", "shop/db_password", check=False)
    assert out.returncode == 1 and "belongs to app shop" in out.stderr
    run_cli(server, "delete", "app", "shop")
    assert set(listed(server)) == {"api_key"}
    assert "secret api_key removed" in run_cli(server, "secret", "rm", "api_key").stdout
    assert listed(server) == {}


def test_too_large_secret_is_one_line_and_stores_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (501 * 1024))
    out = run_cli(server, "secret", "create", "big", "-f", str(big), check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: secret \"big\" is 501 KiB; a secret holds at most 500 KiB"
    (tmp_path / "db_password.txt").write_bytes(big.read_bytes())
    f = tmp_path / "compose.yaml"
    f.write_text(APP.replace("  api_key:\n    external: true\n", "  api_key:\n    file: big\n"))
    out = run_cli(server, "apply", "-f", str(f), check=False)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert 'service "db": secret "db_password"' in out.stderr and "500 KiB" in out.stderr
    assert json.loads(run_cli(server, "get", "apps", "-o", "json").stdout) == []
    assert listed(server) == {}


def test_old_inline_secrets_move_to_their_own_encrypted_keys_at_start(
    server: ServerProcess, tmp_path: Path
) -> None:
    password = secrets.token_hex(16)
    old = objects_pb2.App()
    old.meta.id = "legacy"
    old.spec.name = "legacy"
    svc_spec = old.spec.services.add(name="db", image="127.0.0.1:5000/busybox:latest",
                                     replicas=1)
    svc_spec.secrets.add(source="pw")
    old.spec.secrets.add(name="pw", data=password.encode())
    svc = objects_pb2.Service(app="legacy", spec=svc_spec, spec_hash="old")
    svc.meta.id = "legacy/db"
    (tmp_path / "app").write_bytes(old.SerializeToString())
    (tmp_path / "svc").write_bytes(svc.SerializeToString())
    embedded_read(server.data_dir, server.etcd_port, f"{keys.app_key('legacy')}={tmp_path}/app",
                  f"{keys.service_key('legacy', 'db')}={tmp_path}/svc")
    restart(server)
    app_raw, svc_raw, secret_raw = embedded_read(
        server.data_dir, server.etcd_port, keys.app_key("legacy"),
        keys.service_key("legacy", "db"), keys.file_key("secret", "legacy/pw"))
    assert password not in app_raw and password not in svc_raw
    assert secret_raw is not None and password not in secret_raw
    assert "legacy/pw" in svc_raw  # the service now names the object version it mounts
    assert "moved to their own keys" in server.log_text()
    assert listed(server)["legacy/pw"]["used_by"] == ["legacy/db"]


def test_a_lost_key_file_with_stored_secrets_is_one_line_at_start(
    server: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / "s").write_text("hush")
    run_cli(server, "secret", "create", "s", "-f", str(tmp_path / "s"))
    server.stop()
    kek = server.data_dir / "kek"
    kek.rename(tmp_path / "kek.saved")
    wait_port_free(server.etcd_port)
    with pytest.raises(RuntimeError, match="server exited"):
        server.start()
    errors = [line for line in server.log_text().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"key file {kek} is missing" in errors[0]
    assert not kek.exists()  # never a new key over existing encrypted data
    (tmp_path / "kek.saved").rename(kek)
    restart(server, stop=False)
    assert "s" in listed(server)


def test_the_data_key_is_sealed_with_the_kek_file(server: ServerProcess, tmp_path: Path) -> None:
    """A secret in etcd opens only with the data key, which opens only with the KEK file
    (mode 0600) on the server's disk."""
    kek = server.data_dir / "kek"
    assert kek.stat().st_mode & 0o777 == 0o600
    (raw,) = embedded_read(server.data_dir, server.etcd_port, DATA_KEY_KEY)
    assert raw is not None and raw.startswith("dyk1:")


def restart(server: ServerProcess, *, stop: bool = True) -> None:
    if stop:
        server.stop()
    wait_port_free(server.etcd_port)
    server.start()
