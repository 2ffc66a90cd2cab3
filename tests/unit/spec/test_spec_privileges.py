"""Which privileges an app needs, computed from its spec alone (docs/security.md)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.common.spec.privileges import parse_allow, privilege_problem, required_privileges

from .helpers import load_doc


def needs(body: dict[str, Any]) -> set[str]:
    return required_privileges(load_doc({"services": {"web": {"image": "nginx", **body}}}).spec)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, set()),
        ({"user": "0:0", "cap_drop": ["ALL"], "read_only": True}, set()),
        ({"privileged": True}, {"privileged"}),
        ({"security_opt": ["seccomp:unconfined"]}, {"privileged"}),
        ({"security_opt": ["no-new-privileges:true"]}, set()),
        ({"cap_add": ["NET_ADMIN"]}, {"capabilities"}),
        ({"volumes": ["/:/host:ro"]}, {"host-binds"}),
        ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, {"host-binds"}),
        ({"volumes": ["/var/run:/x"]}, {"host-binds"}),
        ({"volumes": [{"type": "bind", "source": "/run/", "target": "/x"}]}, {"host-binds"}),
        ({"volumes": ["/srv/www:/usr/share/nginx/html"]}, set()),
        ({"pid": "host"}, {"host-namespaces"}),
        ({"ipc": "host"}, {"host-namespaces"}),
        ({"network_mode": "host"}, {"host-namespaces"}),
        ({"network_mode": "none"}, set()),
        ({"devices": ["/dev/fuse"]}, {"devices"}),
        ({"device_cgroup_rules": ["c 1:3 mr"]}, {"devices"}),
    ],
)
def test_required_privileges(body: dict[str, Any], expected: set[str]) -> None:
    assert needs(body) == expected


def test_problem_names_services_and_flags() -> None:
    doc = {"name": "ops", "services": {
        "a": {"image": "x", "privileged": True},
        "b": {"image": "x", "privileged": True, "cap_add": ["SYS_ADMIN"]},
    }}  # fmt: skip
    spec = load_doc(doc).spec
    assert privilege_problem(spec, set()) == (
        "app 'ops' needs privileges not allowed: privileged (service a, b); capabilities "
        "(service b); apply with --allow privileged,capabilities or start the server with "
        "--allow privileged,capabilities"
    )
    assert privilege_problem(spec, {"privileged", "capabilities"}) is None


def test_parse_allow() -> None:
    assert parse_allow(["privileged,host-binds", "", "devices"]) == {
        "privileged", "host-binds", "devices",
    }  # fmt: skip
    assert len(parse_allow(["all"])) == 5
    with pytest.raises(ValueError, match="unknown privilege 'root'"):
        parse_allow(["root"])


def test_the_cli_help_names_every_privilege() -> None:
    from dockyard.cli.flags import PRIVILEGE_NAMES
    from dockyard.common.spec.privileges import PRIVILEGES

    assert tuple(PRIVILEGES) == PRIVILEGE_NAMES
