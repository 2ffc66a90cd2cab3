"""Image references, per the Docker reference grammar."""

from __future__ import annotations

import pytest

from dockyard.common.spec.images import image_reference_problem

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "reference",
    [
        "nginx",
        "nginx:1.25",
        "library/nginx:latest",
        "localhost:5000/dockyard/amp-web:1",
        "localhost/foo",
        "registry.example.com/team/app:v1.2.3-rc_1",
        "registry.example.com:443/a/b/c",
        f"nginx@{DIGEST}",
        f"nginx:1.25@{DIGEST}",
        "my_app__x/a-b.c",
        "[::1]:5000/app:1",
        "a" * 200,
        "Registry.Example.com/app",
    ],
)
def test_good_references(reference: str) -> None:
    assert image_reference_problem(reference) is None


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("", "it is empty"),
        ("Nginx", "the repository name must be lowercase"),
        ("team/App:1", "the repository name must be lowercase"),
        ("nginx:", "tag '' is not valid"),
        ("nginx:-x", "tag '-x' is not valid"),
        ("nginx:a:b", "path component 'nginx:a' is not valid"),
        ("nginx@sha256:abc", "a sha256 digest is 64 lowercase hex digits"),
        ("nginx@md5", "digest 'md5' is not ALGORITHM:HEX"),
        ("a//b", "it has an empty path component"),
        ("/nginx", "it has an empty path component"),
        ("nginx ", "it contains whitespace"),
        ("ngi nx", "it contains whitespace"),
        ("-nginx", "path component '-nginx' is not valid"),
        ("bad_host:x/app", "registry 'bad_host:x' is not a valid host[:port]"),
        ("a" * 256, "longer than 255"),
        ("nginx:" + "t" * 129, "is not valid"),
        (":1", "the repository name is missing"),
    ],
)
def test_bad_references(reference: str, problem: str) -> None:
    found = image_reference_problem(reference)
    assert found is not None
    assert problem in found
