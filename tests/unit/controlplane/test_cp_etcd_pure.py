"""Pure pieces of the etcd edge: key ranges, member command lines, the HTTP request line."""

from __future__ import annotations

from pathlib import Path

from dockyard.controlplane.embedded_etcd import MemberTls, etcd_argv, member_argv
from dockyard.controlplane.http_status import HeadWatch
from dockyard.controlplane.security.etcd_certs import EtcdFiles
from dockyard.controlplane.store.etcd import prefix_end


def test_prefix_end_is_the_first_key_after_the_prefix() -> None:
    assert prefix_end("/dockyard/") == "/dockyard0"
    assert prefix_end("/dockyard/events/") == "/dockyard/events0"
    assert "/dockyard/events/x" < prefix_end("/dockyard/events/") < "/dockyard/nodes/"


def test_a_member_with_tls_requires_client_certificates() -> None:
    tls = MemberTls(cert=Path("s.pem"), key=Path("s-key.pem"), ca=Path("ca.pem"))
    argv = member_argv(binary="etcd", name="m", data_dir=Path("d"),
                       client_url="https://127.0.0.1:1", peer_url="http://127.0.0.1:2",
                       client_tls=tls)
    assert argv[argv.index("--cert-file") + 1] == "s.pem"
    assert argv[argv.index("--trusted-ca-file") + 1] == "ca.pem"
    assert "--client-cert-auth" in argv
    assert "--peer-client-cert-auth" not in argv


def test_the_embedded_etcd_speaks_tls_on_both_ports() -> None:
    argv = etcd_argv(binary="etcd", data_dir=Path("d"), client_port=1, peer_port=2,
                     files=EtcdFiles.under(Path("/data")))
    assert argv[argv.index("--listen-client-urls") + 1] == "https://127.0.0.1:1"
    assert argv[argv.index("--listen-peer-urls") + 1] == "https://127.0.0.1:2"
    assert {"--client-cert-auth", "--peer-client-cert-auth"} <= set(argv)
    assert argv[argv.index("--peer-trusted-ca-file") + 1] == "/data/etcd-tls/ca.pem"


def test_a_request_head_is_followed_to_its_blank_line_within_the_bound() -> None:
    head = HeadWatch(limit=64)
    assert head.feed(b"GET /healthz HTTP/1.1\r\nHost: x\r") == "more"
    assert head.feed(b"\n\r\nbody") == "done"  # the blank line split across reads
    assert head.feed(b"more body") == "done"
    assert HeadWatch(limit=64).feed(b"GET /" + b"a" * 100) == "too large"
    slow = HeadWatch(limit=64)
    for _ in range(6):
        assert slow.feed(b"X-Pad: y\r\n") == "more"
    assert slow.feed(b"X-Pad: y\r\n") == "too large"
