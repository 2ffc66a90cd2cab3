"""The control plane: the API server, the etcd store, reconcilers, the plan applier,
the services agents call (certificates, sessions, logs), and the CLI.

It may import `scheduler` (pure placement) and the wire code `dockyard.v1`. It is the
only part of Dockyard that talks to etcd. It never imports `agent`, except that the CLI
starts an agent process for `dockyard agent`.
"""

# The one place the version is written: pyproject.toml reads it from here, and
# `dockyard --version` prints it without asking the package metadata (a slower import).
__version__ = "0.1.0"
