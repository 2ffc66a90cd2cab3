"""The control plane: the API server, the etcd store, reconcilers, the plan applier, and
the services agents call (certificates, sessions, logs).

It may import `dockyard.scheduler` (pure placement), `dockyard.common` (the shared rules)
and the wire code `dockyard.v1`. It is the only part of Dockyard that talks to etcd. It
never imports `dockyard.agent`, `dockyard.client`, `dockyard.deploy` or the command.
"""
