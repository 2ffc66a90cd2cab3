"""Several files into one app: -f overrides, include, extends, profiles (pure, no disk)."""

from __future__ import annotations

import pytest

from dockyard.client.compose import SpecError, load_app

FILES = {
    "common/base.yaml": b"""
services:
  base:
    image: nginx:1.25
    env_file: ./base.env
    environment: {A: "1", B: "1"}
    ports: ["80"]
    depends_on: [db]
  db:
    image: postgres:16
""",
    "common/base.env": b"FROM_ENV_FILE=yes\n",
    "lib/compose.yaml": b"""
services:
  cache:
    image: redis:7
    volumes: ["./redis.conf:/etc/redis.conf:ro", "cache-data:/data"]
volumes:
  cache-data: {}
""",
    "loop-a.yaml": b"include: [loop-b.yaml]\nservices: {a: {image: nginx}}\n",
    "loop-b.yaml": b"include: [loop-a.yaml]\nservices: {b: {image: nginx}}\n",
}


def read(path: str) -> bytes:
    if path in FILES:
        return FILES[path]
    raise FileNotFoundError(2, "No such file or directory", path)


def load(text: str, *, overrides: tuple[str, ...] = (), profiles: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return load_app(text, read_file=read, default_name="files", environ={},
                    base_dir="/srv/app", overrides=overrides, profiles=profiles)  # fmt: skip


def test_overrides_merge_in_order() -> None:
    base = """
services:
  web:
    image: nginx:1.25
    command: [a, b]
    environment: [A=1, B=2]
    ports: ["8080:80"]
    volumes: ["/srv/a:/data", "/srv/logs:/logs"]
    labels: {x: "1"}
"""
    over = """
services:
  web:
    image: nginx:1.27
    command: [c]
    environment: {B: "3", C: "4"}
    ports: ["8443:443", "8080:80"]
    volumes: ["/srv/b:/data"]
  api:
    image: nginx
"""
    spec = load(base, overrides=(over,)).spec
    web = spec.services[0]
    assert web.image == "nginx:1.27"
    assert list(web.command.args) == ["c"]
    assert dict(web.environment) == {"A": "1", "B": "3", "C": "4"}
    assert [p.host_port for p in web.ports] == [8080, 8443]
    mounts = [(m.source, m.target) for m in web.volumes]
    assert mounts == [("/srv/b", "/data"), ("/srv/logs", "/logs")]
    assert dict(web.labels) == {"x": "1"}
    assert [s.name for s in spec.services] == ["web", "api"]


def test_extends_from_another_file_rebases_its_paths() -> None:
    text = """
services:
  web:
    extends: {file: common/base.yaml, service: base}
    environment: {B: "2"}
  db:
    image: postgres:16
"""
    web = load(text).spec.services[0]
    assert web.image == "nginx:1.25"
    assert dict(web.environment) == {"FROM_ENV_FILE": "yes", "A": "1", "B": "2"}
    assert list(web.depends_on) == []  # depends_on is not inherited


def test_extends_in_the_same_file_and_loops() -> None:
    text = """
services:
  base: {image: nginx, environment: {A: "1"}}
  web: {extends: base, environment: {B: "2"}}
"""
    web = load(text).spec.services[1]
    assert dict(web.environment) == {"A": "1", "B": "2"}
    with pytest.raises(SpecError, match=r'service "a": extends loops: a -> b -> a'):
        load("services: {a: {extends: b, image: x}, b: {extends: a, image: x}}")
    with pytest.raises(SpecError, match=r'service "nope" to extend is not defined in this file'):
        load("services: {a: {extends: nope}}")


def test_include_brings_services_and_rebases_paths() -> None:
    spec = load("include: [lib/compose.yaml]\nservices: {web: {image: nginx}}").spec
    assert [s.name for s in spec.services] == ["web", "cache"]
    cache = spec.services[1]
    assert cache.volumes[0].source == "/srv/app/lib/redis.conf"
    assert list(spec.volumes) == ["cache-data"]


def test_include_conflicts_and_loops_are_one_line() -> None:
    with pytest.raises(SpecError) as caught:
        load("include: [lib/compose.yaml]\nservices: {cache: {image: nginx}}")
    assert str(caught.value) == (
        'include[0]: service "cache" from "lib/compose.yaml" is also defined in the including file'
    )
    with pytest.raises(SpecError, match="include: files include each other more than 10 deep"):
        load(FILES["loop-a.yaml"].decode())
    with pytest.raises(SpecError, match=r'cannot read "missing.yaml"'):
        load("include: [missing.yaml]\nservices: {web: {image: nginx}}")


PROFILED = """
services:
  web: {image: nginx}
  debug: {image: busybox, profiles: [debug]}
  worker: {image: busybox, profiles: [jobs, all], depends_on: [queue]}
  queue: {image: redis, profiles: [jobs]}
"""


@pytest.mark.parametrize(
    ("profiles", "names"),
    [((), ["web"]), (("debug",), ["web", "debug"]), (("jobs",), ["web", "worker", "queue"]),
     (("*",), ["web", "debug", "worker", "queue"])],
)  # fmt: skip
def test_profiles_pick_services(profiles: tuple[str, ...], names: list[str]) -> None:
    assert [s.name for s in load(PROFILED, profiles=profiles).spec.services] == names


def test_a_dependency_in_a_disabled_profile_says_which_to_enable() -> None:
    with pytest.raises(SpecError) as caught:
        load(PROFILED, profiles=("all",))
    assert str(caught.value) == (
        'service "worker": depends_on names "queue", which is only in profile "jobs"; '
        "enable it with --profile jobs"
    )


def test_unknown_profile_is_a_warning() -> None:
    warnings = load(PROFILED, profiles=("typo",)).warnings
    assert 'profile "typo" is not used by any service' in warnings
