"""The client library: what talks to a running control plane, and the Compose loader.

- `control`: the Control API over one or several server addresses (moving to the next
  when one is down), and gRPC failures turned into one-line `CliError`s;
- `errors`: `CliError`;
- `compose_files`: which Compose files an apply reads (`-f`, overrides, stdin);
- `compose/`: the loader, a Compose file in and a validated `dockyard.v1.AppSpec` out.

It imports `dockyard.common` (the rules a valid app follows, which the server judges
again), `dockyard.scheduler` and `dockyard.v1`; never the control plane or the agent.
"""
