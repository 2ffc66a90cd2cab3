"""etcd credentials: the embedded etcd speaks TLS only, wants the server's client
certificate, has authentication on; the CA key is sealed at rest (and a plain one from an
older cluster is sealed on start); a lost key file is a one-line error; an external etcd
with client TLS works through --etcd-cacert/--etcd-cert/--etcd-key."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest

from dockyard.controlplane.security.datakey import DATA_KEY_KEY
from dockyard.controlplane.security.etcd_certs import EtcdFiles
from dockyard.controlplane.security.sealed import load_kek, unseal
from tests.integration.etcd_cluster import EtcdCluster
from tests.integration.etcd_read import embedded_read
from tests.integration.harness import (
    ServerProcess,
    free_port,
    free_port_pair,
    run_cli,
    wait_port_free,
)
from tests.integration.test_ha import compose, wait_for
from tests.integration.test_large_state import healthz

pytestmark = pytest.mark.integration

CA_KEY = "/dockyard/cluster/ca-key"


def range_request(url: str, context: ssl.SSLContext | None) -> bytes:
    """What `curl URL/v3/kv/range` for the CA key gets; raises if the connection fails."""
    body = json.dumps({"key": "L2RvY2t5YXJkL2NsdXN0ZXIvY2Eta2V5"}).encode()  # CA_KEY
    req = urllib.request.Request(f"{url}/v3/kv/range", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5, context=context) as r:
        return bytes(r.read())


def refused(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        answer = range_request(url, context)
    except (OSError, ssl.SSLError):
        return True
    return b"kvs" not in answer


def test_embedded_etcd_refuses_plaintext_and_clients_without_its_certificate(
    server: ServerProcess, tmp_path: Path
) -> None:
    files = EtcdFiles.under(server.data_dir)
    port = server.etcd_port
    assert refused(f"http://127.0.0.1:{port}", None)
    no_cert = ssl.create_default_context(cafile=str(files.ca))
    assert refused(f"https://127.0.0.1:{port}", no_cert)
    # A certificate from the cluster CA (the admin credential) is no etcd credential.
    admin = tmp_path / "admin.pem"
    admin.write_bytes(server.credentials.read_bytes())
    cluster_cert = ssl.create_default_context(cafile=str(files.ca))
    cluster_cert.load_cert_chain(str(admin))
    assert refused(f"https://127.0.0.1:{port}", cluster_cert)
    # The server's own files are private.
    assert stat.S_IMODE(os.stat(files.root).st_mode) == 0o700
    for f in [*files.root.iterdir(), server.data_dir / "kek"]:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    # The CA key is sealed in etcd; the server itself works end to end over TLS.
    assert embedded_read(server.data_dir, port, CA_KEY)[0].startswith("dyk1:")
    app = tmp_path / "shop.yaml"
    app.write_text(compose("shop", {"db": 1}))
    run_cli(server, "apply", "-f", str(app))
    assert '"shop"' in run_cli(server, "get", "services", "-o", "json").stdout


def start_fails(server: ServerProcess) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(server.argv(), capture_output=True, text=True, timeout=60,
                         env={**os.environ, "HOME": str(server.home)})
    wait_port_free(server.etcd_port)
    return out


def test_a_lost_key_file_stops_the_server_with_one_line(server: ServerProcess) -> None:
    server.stop()
    wait_port_free(server.etcd_port)
    kek = server.data_dir / "kek"
    kek.unlink()
    out = start_fails(server)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith("error: the cluster CA key in etcd is encrypted and its key "
                                f"file {kek} is missing"), out.stderr[-1000:]
    assert "Traceback" not in out.stderr
    assert not kek.exists()  # never a new key over existing data


def test_a_plain_ca_key_from_an_older_cluster_is_sealed_on_start(
    server: ServerProcess, tmp_path: Path
) -> None:
    kek_file = server.data_dir / "kek"
    kek = load_kek(kek_file)
    assert kek is not None
    # Put the key back in the clear, as a cluster made before sealing keeps it.
    stored, plain = tmp_path / "sealed", tmp_path / "ca-key.pem"
    embedded_read(server.data_dir, server.etcd_port, f"{CA_KEY}>{stored}")
    plain.write_bytes(unseal(kek, stored.read_bytes(), aad=CA_KEY.encode(), kek_path=kek_file))
    # and without the secrets' data key, which came with sealing.
    embedded_read(server.data_dir, server.etcd_port, f"{CA_KEY}={plain}", f"!{DATA_KEY_KEY}")
    server.stop()
    wait_port_free(server.etcd_port)
    kek_file.unlink()  # an older cluster had no key file either
    server.start()
    assert "encrypted the cluster CA key in etcd" in server.log_text()
    assert embedded_read(server.data_dir, server.etcd_port, CA_KEY)[0].startswith("dyk1:")
    assert kek_file.exists()
    # Same CA as before: the admin credential from the first start still works.
    run_cli(server, "get", "nodes")


def test_external_etcd_with_client_tls_flags(tmp_path: Path) -> None:
    etcd = EtcdCluster(tmp_path / "etcd", size=1, tls=True)
    etcd.start()
    data = tmp_path / "data"
    data.mkdir()
    srv = ServerProcess(data, free_port(), free_port(), free_port_pair())
    try:
        assert etcd.tls is not None
        base = ["--etcd", etcd.urls[0]]
        # Without the client certificate the server cannot reach etcd: one line, code 1.
        plain = subprocess.run([*srv.argv(), *base], capture_output=True, text=True,
                               timeout=60, env={**os.environ, "HOME": str(srv.home)})
        assert plain.returncode == 1
        assert plain.stderr.strip().splitlines()[-1].startswith("error: etcd unreachable")
        partial = subprocess.run([*srv.argv(), *base, "--etcd-cacert", str(etcd.tls.ca)],
                                 capture_output=True, text=True, timeout=60)
        assert partial.stderr.strip() == \
            "error: --etcd-cacert, --etcd-cert and --etcd-key go together"
        srv.start(*base, *etcd.tls.server_flags())
        app = tmp_path / "shop.yaml"
        app.write_text(compose("shop", {"db": 1}))
        run_cli(srv, "apply", "-f", str(app))
        assert '"shop"' in run_cli(srv, "get", "services", "-o", "json").stdout
        stored = etcd.get(CA_KEY)
        assert stored is not None and stored.startswith(b"dyk1:")
        # etcd gone: /healthz says not-ready in one line; back: ready again.
        etcd.kill(etcd.members[0])
        assert wait_for(lambda: healthz(srv)[0] == 503, 20), healthz(srv)
        _status, body = healthz(srv)
        assert body.count("\n") == 1 and "etcd" in body, body
        etcd.restart(etcd.members[0])
        assert wait_for(lambda: healthz(srv) == (200, "ok\n"), 30), healthz(srv)
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
        etcd.stop()
