"""The app spec: a Compose file becomes a validated ``dockyard.v1.AppSpec``, and back.

What lives here:
- ``compose``: the top level of the file and ``load_app``, the entry point;
- ``service``, ``ports``, ``deploy``: the per-service keys, one table of what is handled;
- ``render``: the normalized YAML that ``dockyard config`` prints (``spec_hash``, the one
  hash of a spec, is ``dockyard.common.spec.hashing``'s);
- ``reader``: typed access to the parsed YAML.

The rules every valid app follows (names, limits, checks across services, ``SpecError``)
live in ``dockyard.common.spec``, because the server judges them again.

Public API: ``load_app``, ``LoadedApp``, ``render_app``, ``spec_hash``, ``SpecError``.
Every bad input raises ``SpecError``, whose message is one line; nothing else escapes.
The package is pure: it reads files only through the ``read_file`` callable it is
given. It may import ``dockyard.v1`` (the wire types), ``dockyard.common`` and
``dockyard.scheduler`` (the pure constraint parser and dependency graph), and nothing
with I/O.
"""

from dockyard.client.compose.compose import LoadedApp, load_app
from dockyard.client.compose.render import render_app
from dockyard.common.spec.errors import SpecError
from dockyard.common.spec.hashing import spec_hash

__all__ = ["LoadedApp", "SpecError", "load_app", "render_app", "spec_hash"]
