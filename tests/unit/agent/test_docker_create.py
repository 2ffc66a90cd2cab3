"""agent/runtime/docker/create.py (and agent/containers.py): a task's docker SDK create
arguments."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.agent.containers import LABEL, NODE_LABEL, TASK_LABEL, container_name, stop_timeout_s
from dockyard.agent.runtime.docker.create import (
    create_kwargs,
    healthcheck_for,
    ports_for,
    volumes_for,
)
from dockyard.agent.runtime.driver import CreateRequest, DriverError
from dockyard.v1 import objects_pb2, specs_pb2

MS = 1_000_000  # ns per ms


def kwargs_of(task: objects_pb2.Task, *, node: str, secret_paths: dict[str, str],
              resolver: str = "", search: str = "", network: str = "") -> dict[str, Any]:
    return create_kwargs(CreateRequest(task=task, node=node, files=secret_paths,
                                       resolver=resolver, search=search, network=network))


def _task(spec: specs_pb2.ServiceSpec | None = None, *, slot: int = 2) -> objects_pb2.Task:
    s = spec or specs_pb2.ServiceSpec(name="web", image="registry:5000/web:1")
    t = objects_pb2.Task(app="shop", service="web", slot=slot, spec=s, spec_hash="h" * 64)
    t.meta.id = "abc123"
    return t


def _spec(**kw) -> specs_pb2.ServiceSpec:  # type: ignore[no-untyped-def]
    return specs_pb2.ServiceSpec(name="web", image="registry:5000/web:1", **kw)


def test_minimal_kwargs() -> None:
    kw = kwargs_of(_task(), node="n1", secret_paths={})
    assert kw == {
        "image": "registry:5000/web:1",
        "name": "shop.web.2.abc123",
        "labels": {
            "io.dockyard.app": "shop",
            "io.dockyard.service": "web",
            "io.dockyard.slot": "2",
            "io.dockyard.task-id": "abc123",
            "io.dockyard.spec-hash": "h" * 64,
            "io.dockyard.node": "n1",
        },
        "environment": {
            "DOCKYARD_NODE": "n1",
            "DOCKYARD_APP": "shop",
            "DOCKYARD_SERVICE": "web",
            "DOCKYARD_SLOT": "2",
        },
        "hostname": "web-2",
        "detach": True,
    }
    assert container_name(_task()) == kw["name"]
    assert (TASK_LABEL, NODE_LABEL) == ("io.dockyard.task-id", "io.dockyard.node")


def test_the_hosts_uts_namespace_gets_no_hostname_of_dockyards() -> None:
    """The engine refuses a hostname with `uts: host` ("conflicting options")."""
    kw = kwargs_of(_task(_spec(uts="host")), node="n1", secret_paths={})
    assert "hostname" not in kw and kw["uts_mode"] == "host"
    named = kwargs_of(_task(_spec(uts="host", hostname="h")), node="n1", secret_paths={})
    assert named["hostname"] == "h"  # the user's own: the engine's error says why


def test_user_labels_kept_but_cannot_override_dockyard_labels() -> None:
    s = _spec(labels={"team": "a", LABEL + "task-id": "forged", LABEL + "node": "other"})
    labels = kwargs_of(_task(s), node="n1", secret_paths={})["labels"]
    assert labels["team"] == "a"
    assert labels[TASK_LABEL] == "abc123"
    assert labels[NODE_LABEL] == "n1"


@pytest.mark.parametrize(
    ("field", "value", "key", "expected"),
    [
        ("user", "1000:1000", "user", "1000:1000"),
        ("working_dir", "/srv", "working_dir", "/srv"),
        ("stop_signal", "SIGINT", "stop_signal", "SIGINT"),
        ("hostname", "api", "hostname", "api"),
        ("cap_add", ["NET_ADMIN"], "cap_add", ["NET_ADMIN"]),
        ("cap_drop", ["ALL"], "cap_drop", ["ALL"]),
    ],
)
def test_plain_fields(field: str, value: object, key: str, expected: object) -> None:
    kw = kwargs_of(_task(_spec(**{field: value})), node="n1", secret_paths={})
    assert kw[key] == expected


def test_command_and_entrypoint_only_when_set() -> None:
    kw = kwargs_of(_task(), node="n", secret_paths={})
    assert "command" not in kw and "entrypoint" not in kw
    s = _spec()
    s.command.SetInParent()  # set but empty: "nothing"
    s.entrypoint.args.extend(["/bin/sh", "-c"])
    kw = kwargs_of(_task(s), node="n", secret_paths={})
    assert kw["command"] == []
    assert kw["entrypoint"] == ["/bin/sh", "-c"]


@pytest.mark.parametrize(
    ("cpu", "mem", "expected"),
    [
        (0, 0, {}),
        (1500, 0, {"nano_cpus": 1_500_000_000}),
        (1000, 256 * 1024**2, {"nano_cpus": 10**9, "mem_limit": 256 * 1024**2}),
        (0, 1, {"mem_limit": 1}),
    ],
)
def test_limits(cpu: int, mem: int, expected: dict[str, int]) -> None:
    s = _spec()
    s.limits.cpu_millis = cpu
    s.limits.memory_bytes = mem
    kw = kwargs_of(_task(s), node="n", secret_paths={})
    assert {k: kw[k] for k in ("nano_cpus", "mem_limit") if k in kw} == expected


def test_healthcheck_converts_ms_to_ns() -> None:
    s = _spec()
    s.healthcheck.test.extend(["CMD", "curl", "-f", "http://localhost"])
    s.healthcheck.interval_ms = 5000
    s.healthcheck.timeout_ms = 2000
    s.healthcheck.start_period_ms = 30_000
    s.healthcheck.retries = 3
    assert kwargs_of(_task(s), node="n", secret_paths={})["healthcheck"] == {
        "test": ["CMD", "curl", "-f", "http://localhost"],
        "interval": 5000 * MS,
        "timeout": 2000 * MS,
        "start_period": 30_000 * MS,
        "retries": 3,
    }


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: None, None),
        (lambda s: s.healthcheck.test.extend(["CMD-SHELL", "true"]),
         {"test": ["CMD-SHELL", "true"]}),
        (lambda s: setattr(s.healthcheck, "disable", True), {"test": ["NONE"]}),
        (lambda s: s.healthcheck.test.extend(["NONE"]), {"test": ["NONE"]}),
    ],
    ids=["unset", "defaults", "disable", "test-NONE"],
)
def test_healthcheck_variants(build, expected) -> None:  # type: ignore[no-untyped-def]
    s = _spec()
    build(s)
    assert healthcheck_for(s) == expected
    kw = kwargs_of(_task(s), node="n", secret_paths={})
    assert kw.get("healthcheck") == expected


@pytest.mark.parametrize(
    ("ports", "expose", "expected"),
    [
        ([], [], {}),
        ([dict(container_port=80, host_port=8080)], [], {"80/tcp": 8080}),
        ([dict(container_port=53, host_port=53, protocol="udp")], [], {"53/udp": 53}),
        ([dict(container_port=80, host_port=8080, host_ip="127.0.0.1")], [],
         {"80/tcp": ("127.0.0.1", 8080)}),
        ([dict(container_port=9000)], [], {"9000/tcp": None}),
        ([], ["3000", "53/udp"], {"3000/tcp": None, "53/udp": None}),
        ([dict(container_port=80, host_port=8080)], ["80"], {"80/tcp": 8080}),
    ],
    ids=["none", "published", "udp", "host-ip", "exposed-only", "expose", "expose-dup"],
)
def test_ports(ports: list[dict], expose: list[str], expected: dict) -> None:
    s = _spec(ports=[specs_pb2.PortMapping(**p) for p in ports], expose=expose)
    assert ports_for(s) == expected
    kw = kwargs_of(_task(s), node="n", secret_paths={})
    assert kw.get("ports", {}) == expected


def test_one_container_port_on_two_host_ports() -> None:
    s = _spec(ports=[specs_pb2.PortMapping(container_port=80, host_port=8080),
                     specs_pb2.PortMapping(container_port=80, host_port=8081)])
    value = ports_for(s)["80/tcp"]
    assert isinstance(value, list)
    assert sorted(value) == [8080, 8081]


V = specs_pb2.VolumeMount
F = specs_pb2.FileReference


@pytest.mark.parametrize(
    ("volumes", "expected"),
    [
        ([V(type="volume", source="data", target="/var/lib/db")],
         ["shop_data:/var/lib/db:rw"]),
        ([V(type="volume", source="data", target="/d", read_only=True)], ["shop_data:/d:ro"]),
        ([V(type="bind", source="/srv/conf", target="/etc/app", read_only=True)],
         ["/srv/conf:/etc/app:ro"]),
        ([V(type="bind", source="/srv", target="/srv")], ["/srv:/srv:rw"]),
    ],
    ids=["named", "named-ro", "bind-ro", "bind"],
)
def test_volumes(volumes: list[specs_pb2.VolumeMount], expected: list[str]) -> None:
    t = _task(_spec(volumes=volumes))
    assert volumes_for(t, {}) == expected
    assert kwargs_of(t, node="n", secret_paths={})["volumes"] == expected


@pytest.mark.parametrize(
    ("secrets", "configs", "expected"),
    [
        ([F(source="db_pw")], [], ["/tmpfs/db_pw:/run/secrets/db_pw:ro"]),
        ([F(source="db_pw", target="/etc/pw")], [], ["/tmpfs/db_pw:/etc/pw:ro"]),
        ([F(source="db_pw", target="pw")], [], ["/tmpfs/db_pw:/run/secrets/pw:ro"]),
        ([], [F(source="nginx")], ["/tmpfs/nginx:/nginx:ro"]),
        ([], [F(source="nginx", target="/etc/nginx.conf")], ["/tmpfs/nginx:/etc/nginx.conf:ro"]),
    ],
    ids=["secret", "secret-abs", "secret-rel", "config", "config-abs"],
)
def test_secrets_and_configs(secrets: list[specs_pb2.FileReference],
                             configs: list[specs_pb2.FileReference],
                             expected: list[str]) -> None:
    """Each reference mounts, read-only, the file delivered for its object's version."""
    for ref in (*secrets, *configs):
        ref.object, ref.version = f"shop/{ref.source}", 2
    paths = {"secret/shop/db_pw@2": "/tmpfs/db_pw", "config/shop/nginx@2": "/tmpfs/nginx"}
    t = _task(_spec(secrets=secrets, configs=configs))
    assert volumes_for(t, paths) == expected
    kw = kwargs_of(t, node="n", secret_paths=paths)
    assert kw.get("volumes", []) == expected


def test_a_file_not_delivered_fails_the_create_instead_of_starting_without_it() -> None:
    t = _task(_spec(secrets=[F(source="db_pw", object="shop/db_pw", version=3)]))
    with pytest.raises(DriverError, match=r"secret db_pw \(version 3\) has not been delivered"):
        volumes_for(t, {"secret/shop/db_pw@2": "/tmpfs/old"})


def test_user_environment_plus_dockyard_variables() -> None:
    s = _spec(environment={"A": "1", "DOCKYARD_NODE": "forged"})
    env = kwargs_of(_task(s), node="n1", secret_paths={})["environment"]
    assert env == {"A": "1", "DOCKYARD_NODE": "n1", "DOCKYARD_APP": "shop",
                   "DOCKYARD_SERVICE": "web", "DOCKYARD_SLOT": "2"}


def test_resolver_and_search_domain() -> None:
    kw = kwargs_of(_task(), node="n", secret_paths={}, resolver="172.17.0.1",
                   search="shop.dockyard")
    assert kw["dns"] == ["172.17.0.1"]
    assert kw["dns_search"] == ["shop.dockyard"]
    kw = kwargs_of(_task(), node="n", secret_paths={})
    assert "dns" not in kw and "dns_search" not in kw


def test_network_only_when_given() -> None:
    assert kwargs_of(_task(), node="n", secret_paths={}, network="shop")["network"] == "shop"
    assert "network" not in kwargs_of(_task(), node="n", secret_paths={})


@pytest.mark.parametrize(
    "mount", [V(type="tmpfs", target="/tmp/cache"), V(type="volume", target="/data")],
    ids=["tmpfs", "anonymous"],
)
def test_every_mount_reaches_the_container(mount: specs_pb2.VolumeMount) -> None:
    kw = kwargs_of(_task(_spec(volumes=[mount])), node="n", secret_paths={})
    assert mount.target in repr(kw)


@pytest.mark.parametrize(("ms", "s"), [(0, 10), (1, 0), (499, 0), (1500, 2), (30_000, 30)])
def test_stop_timeout(ms: int, s: int) -> None:
    assert stop_timeout_s(_spec(stop_grace_period_ms=ms)) == s


# --- Compose runtime keys: each one reaches the create arguments -----------------------

def _runtime_spec() -> specs_pb2.ServiceSpec:
    s = _spec(
        extra_hosts=["db.local:10.1.2.3"], tmpfs={"/cache": "size=1m"},
        sysctls={"net.core.somaxconn": "1024"}, privileged=True, read_only=True,
        shm_size_bytes=64 << 20, stdin_open=True, tty=True, platform="linux/amd64",
        pids_limit=100, security_opt=["seccomp:unconfined", "label:user:u",
                                      "apparmor:p", "no-new-privileges:true"],
        devices=[specs_pb2.DeviceMapping(host_path="/dev/fuse"),
                 specs_pb2.DeviceMapping(host_path="/dev/a", container_path="/dev/b",
                                         permissions="r")],
        device_cgroup_rules=["c 10:229 rwm"], dns=["10.0.0.53"], dns_search=["corp"],
        dns_opt=["ndots:1"], domainname="example.test", group_add=["audio"],
        pid="host", ipc="shareable", uts="host", userns_mode="host", init=False,
        logging=specs_pb2.LoggingSpec(driver="local", options={"max-size": "1m"}),
        ulimits=[specs_pb2.Ulimit(name="nofile", soft=1024, hard=2048)],
    )
    return s


def test_runtime_keys_reach_the_engine() -> None:
    kw = kwargs_of(_task(_runtime_spec()), node="n1", secret_paths={},
                   resolver="10.9.0.1", search="shop.dockyard", network="dy-shop")
    assert kw["log_config"] == {"Type": "local", "Config": {"max-size": "1m"}}
    assert kw["ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert kw["init"] is False  # set, even to false: the engine's default is not used
    assert kw["extra_hosts"] == ["db.local:10.1.2.3"]
    assert kw["tmpfs"] == {"/cache": "size=1m"}
    assert kw["sysctls"] == {"net.core.somaxconn": "1024"}
    assert kw["privileged"] and kw["read_only"] and kw["stdin_open"] and kw["tty"]
    assert kw["shm_size"] == 64 << 20
    assert kw["pids_limit"] == 100
    assert kw["platform"] == "linux/amd64"
    assert kw["security_opt"] == ["seccomp=unconfined", "label=user:u", "apparmor=p",
                                  "no-new-privileges:true"]
    assert kw["devices"] == ["/dev/fuse:/dev/fuse:rwm", "/dev/a:/dev/b:r"]
    assert kw["device_cgroup_rules"] == ["c 10:229 rwm"]
    assert kw["domainname"] == "example.test"
    assert kw["group_add"] == ["audio"]
    assert (kw["pid_mode"], kw["ipc_mode"], kw["uts_mode"], kw["userns_mode"]) == (
        "host", "shareable", "host", "host")
    # Dockyard's resolver stays first, so app names keep resolving.
    assert kw["dns"] == ["10.9.0.1", "10.0.0.53"]
    assert kw["dns_search"] == ["shop.dockyard", "corp"]
    assert kw["dns_opt"] == ["ndots:1"]
    assert kw["network"] == "dy-shop"


def test_zero_values_leave_the_engine_default() -> None:
    kw = kwargs_of(_task(), node="n1", secret_paths={})
    for key in ("init", "shm_size", "pids_limit", "privileged", "log_config", "platform",
                "network_mode", "mounts", "dns"):
        assert key not in kw


@pytest.mark.parametrize("mode", ["host", "none"])
def test_host_or_none_network_skips_the_app_network_and_ports(mode: str) -> None:
    spec = _spec(network_mode=mode, dns=["10.0.0.53"],
                 ports=[specs_pb2.PortMapping(container_port=80, host_port=8080)])
    kw = kwargs_of(_task(spec), node="n1", secret_paths={}, resolver="10.9.0.1",
                   search="shop.dockyard", network="dy-shop")
    assert kw["network_mode"] == mode
    assert "network" not in kw and "ports" not in kw
    assert kw["dns"] == ["10.0.0.53"] and "dns_search" not in kw


def test_volume_extras_binds_and_mounts() -> None:
    spec = _spec(volumes=[
        specs_pb2.VolumeMount(type="bind", source="/srv", target="/a", selinux="z",
                              bind_propagation="rshared"),
        specs_pb2.VolumeMount(type="volume", source="data", target="/b", volume_nocopy=True),
        specs_pb2.VolumeMount(type="volume", source="data", target="/c", read_only=True,
                              volume_subpath="sub"),
        specs_pb2.VolumeMount(type="bind", source="/must", target="/d", bind_no_create=True),
        specs_pb2.VolumeMount(type="tmpfs", target="/t", tmpfs_size_bytes=1 << 20,
                              tmpfs_mode=0o1777),
    ])
    kw = kwargs_of(_task(spec), node="n1", secret_paths={})
    assert kw["volumes"] == ["/srv:/a:rw,z,rshared", "shop_data:/b:rw,nocopy"]
    assert kw["mounts"] == [
        {"Type": "volume", "Source": "shop_data", "Target": "/c", "ReadOnly": True,
         "VolumeOptions": {"Subpath": "sub"}},
        {"Type": "bind", "Source": "/must", "Target": "/d", "ReadOnly": False},
    ]
    assert kw["tmpfs"] == {"/t": "size=1048576,mode=1777"}


def test_limits_map_to_engine_limits() -> None:
    spec = _spec(limits=specs_pb2.Resources(cpu_millis=1500, memory_bytes=1 << 28),
                 pids_limit=-1)
    kw = kwargs_of(_task(spec), node="n1", secret_paths={})
    assert (kw["nano_cpus"], kw["mem_limit"], kw["pids_limit"]) == (1_500_000_000, 1 << 28, -1)


def test_start_interval_is_given_to_the_driver_in_ns_when_the_engine_reads_it() -> None:
    from dockyard.agent.runtime.docker.create import (
        START_INTERVAL_API,
        api_at_least,
        start_interval_ns,
    )

    spec = specs_pb2.ServiceSpec(healthcheck=specs_pb2.HealthCheck(
        test=["CMD", "true"], start_interval_ms=1500))
    assert start_interval_ns(spec) == 1_500_000_000
    assert start_interval_ns(specs_pb2.ServiceSpec()) == 0
    spec.healthcheck.disable = True
    assert start_interval_ns(spec) == 0
    assert api_at_least("1.45", START_INTERVAL_API)
    assert api_at_least("1.44", START_INTERVAL_API)
    assert not api_at_least("1.41", START_INTERVAL_API)
    assert not api_at_least("", START_INTERVAL_API)
