"""Dockyard: a container orchestrator for a pool of Linux hosts, driven by Compose files.

Everything installs under this one namespace (pyproject.toml maps each folder of the
repository to its subpackage), in layers that import only downwards (an import-linter
`layers` contract checks it):

- `dockyard.cli`: the `dockyard` command; the server, the agent and the testbed all
  start through it (`python -m dockyard.cli ...`);
- `dockyard.deploy`: the netns testbed, the demo, the benchmarks, systemd units;
- `dockyard.controlplane`, `dockyard.agent`, `dockyard.client`: the server, the node
  daemon, and the client library with the Compose loader; none imports another;
- `dockyard.common`: pure pieces both sides of the wire share, among them the rules a
  valid app follows (`common.spec`), judged by the loader and again by the server;
- `dockyard.scheduler`, `dockyard.v1`: pure placement, and the generated wire code.
"""

# The one place the version is written: pyproject.toml reads it from here, and
# `dockyard --version` prints it without asking the package metadata (a slower import).
__version__ = "0.1.0"
