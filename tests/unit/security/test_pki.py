"""Certificates and join tokens: pure, no network."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from dockyard.agent import identity as ident
from dockyard.client.control import CliError, load_credentials
from dockyard.common.jointoken import split_token, weakness
from dockyard.controlplane.security import pki


@pytest.fixture(scope="module")
def ca() -> pki.ClusterCA:
    return pki.create_ca()


def test_token_names_the_ca_and_a_join_certificate_chains_to_the_join_root(
    ca: pki.ClusterCA,
) -> None:
    token = pki.make_token(ca)
    assert not token.startswith("-")
    digest, secret = split_token(token)
    assert digest == ca.digest and weakness(secret) is None
    # The agent signs with the key it derives; the server trusts the root it derives.
    cert_pem, _key = ident.join_certificate(secret, "n1")
    root = x509.load_pem_x509_certificate(pki.join_root(secret))
    x509.load_pem_x509_certificate(cert_pem).verify_directly_issued_by(root)
    assert pki.peer_identity(cert_pem, ca.cert.subject) == pki.Peer("join", "n1")
    assert split_token("plain-secret") == (None, "plain-secret")


def test_node_certificate_takes_only_the_key_from_the_csr(ca: pki.ClusterCA) -> None:
    agent = ident.Identity.fresh("someone-else")  # the CSR asks for another name
    cert = pki.sign_node_csr(ca, agent.csr(), "n1", valid_s=60)
    peer = pki.peer_identity(cert, ca.cert.subject)
    assert peer == pki.Peer("node", "n1")
    assert pki.remaining_s(cert) <= 60


def test_roles_count_only_from_the_ca(ca: pki.ClusterCA) -> None:
    admin = pki.admin_bundle(ca).encode()
    assert pki.peer_identity(admin, ca.cert.subject) == pki.Peer("admin", "admin")
    other = pki.create_ca()
    forged, _ = pki.issue_with_key(other, cn="admin", ou=pki.OU_ADMIN, valid_s=60)
    assert pki.peer_identity(forged, ca.cert.subject).role == ""
    join_cert, _ = ident.join_certificate("secret", "n1")
    assert pki.peer_identity(join_cert, ca.cert.subject) == pki.Peer("join", "n1")


def test_join_root_matches_the_agents_join_certificate() -> None:
    from cryptography import x509

    root = x509.load_pem_x509_certificate(pki.join_root("s"))
    leaf = x509.load_pem_x509_certificate(ident.join_certificate("s", "n1")[0])
    leaf.verify_directly_issued_by(root)
    wrong = x509.load_pem_x509_certificate(ident.join_certificate("t", "n1")[0])
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        wrong.verify_directly_issued_by(root)


def test_credential_file_parses_and_bad_ones_are_one_line(ca: pki.ClusterCA,
                                                          tmp_path: Path) -> None:
    good = tmp_path / "admin.pem"
    good.write_text(pki.admin_bundle(ca))
    _cert, key, ca_pem = load_credentials(good)
    assert ca_pem.strip() == ca.cert_pem.strip() and b"PRIVATE KEY" in key
    bad = tmp_path / "bad.pem"
    bad.write_text(ca.cert_pem.decode())
    for path in (bad, tmp_path / "missing.pem"):
        with pytest.raises(CliError) as exc:
            load_credentials(path)
        assert "\n" not in str(exc.value)


def test_renewal_is_due_at_two_thirds(ca: pki.ClusterCA) -> None:
    me = ident.Identity.fresh("n1")
    me.adopt(pki.sign_node_csr(ca, me.csr(), "n1", valid_s=300), ca.cert_pem)
    assert 190 <= me.renew_in() <= 200
    assert me.usable()
