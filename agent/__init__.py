"""The node agent: a session with the control plane, and a container runtime driver.

`session` holds the gRPC stream and heartbeats, `steps` decides what to do next for a
task (pure), `runtime/` holds the runtime-neutral driver interface and the runtimes
behind it (`runtime/docker/`, and the in-memory `runtime/fake.py`), `containers` names
and labels a task's container (pure), `status` reads a container into a task status
(pure), and `runner` ties them together. The agent never imports the control plane and
holds no etcd credentials: it knows only the
Certificates, Sessions and LogBroker APIs in `dockyard.v1`, and the neutral `common`.
"""
