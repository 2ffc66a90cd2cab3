"""The node agent: a session with the control plane, and the Docker Engine driver.

`session` holds the gRPC stream and heartbeats, `steps` decides what to do next for a
task (pure), `driver` is the Docker Engine behind a small interface, `containers` maps
a task to Docker's create arguments (pure), and `runner` ties them together. The agent
never imports the control plane and holds no etcd credentials: it knows only the
Dispatcher API in `dockyard.v1`.
"""
