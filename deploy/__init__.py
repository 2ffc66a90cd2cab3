"""Deployment pieces of Dockyard.

- ``deploy.testbed``: a multi-host testbed on one machine (network namespaces joined by a
  bridge, one Docker Engine per host, a local registry, the Dockyard server and agents);
- ``deploy/systemd``: unit files for running the server and agents on real hosts.
"""
