"""The app spec: a Compose file becomes a validated ``dockyard.v1.AppSpec``, and back.

What lives here:
- ``compose``: the top level of the file and ``load_app``, the entry point;
- ``service``, ``ports``, ``deploy``: the per-service keys, one table of what is handled;
- ``validate``: checks across services (missing dependencies, cycles, host ports);
- ``render``: the normalized YAML that ``dockyard config`` prints, and ``spec_hash``;
- ``units``, ``images``, ``reader``, ``errors``: durations/sizes/cpus, image
  references, typed access to the parsed YAML, and ``SpecError``.

Public API: ``load_app``, ``LoadedApp``, ``render_app``, ``spec_hash``, ``SpecError``.
Every bad input raises ``SpecError``, whose message is one line; nothing else escapes.
The package is pure: it reads files only through the ``read_file`` callable it is
given. It may import ``dockyard.v1`` (the wire types) and ``scheduler`` (the pure
constraint parser and dependency graph), and nothing with I/O.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controlplane.spec.compose import LoadedApp, load_app
    from controlplane.spec.errors import SpecError
    from controlplane.spec.render import render_app, spec_hash

# The public names load on first use, so that importing one light module of the package
# (`rules`, which every CLI call needs for its message limits) does not pull in the whole
# loader and its graph library.
_PUBLIC = {
    "LoadedApp": "compose",
    "load_app": "compose",
    "SpecError": "errors",
    "render_app": "render",
    "spec_hash": "render",
}

__all__ = ["LoadedApp", "SpecError", "load_app", "render_app", "spec_hash"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
