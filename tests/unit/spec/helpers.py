"""Helpers for the spec tests: load a Compose document from a dict or text, no disk."""

from __future__ import annotations

import json
from typing import Any

from dockyard.client.compose import LoadedApp, load_app
from dockyard.v1 import specs_pb2

FILES = {
    "./db_password.txt": b"s3cret\n",
    "./app.conf": b"listen 80\n",
    "./web.env": b"# comment\n\nA=1\nexport B='two words'\nC=\"x\\ny\"\nD=plain # trailing\nE\n",
    "./override.env": b"A=from-second-file\n",
}


def read_file(path: str) -> bytes:
    if path in FILES:
        return FILES[path]
    raise FileNotFoundError(2, "No such file or directory", path)


def load_text(text: str, *, name: str = "app") -> LoadedApp:
    return load_app(text, read_file=read_file, default_name=name)


def load_doc(doc: dict[str, Any]) -> LoadedApp:
    """JSON is YAML, so a dict dumped as JSON is a faithful Compose file."""
    return load_text(json.dumps(doc))


def service_doc(body: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "services": {"web": {"image": "nginx:1.25", **body}},
        "volumes": {"data": None},
        "networks": {"front": None},
        "secrets": {"pw": {"file": "./db_password.txt"}},
        "configs": {"conf": {"file": "./app.conf"}},
    }
    doc.update(top)
    return doc


def load_service(body: dict[str, Any]) -> specs_pb2.ServiceSpec:
    return load_doc(service_doc(body)).spec.services[0]
