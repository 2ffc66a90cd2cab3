"""Reconcilers: pure decisions of (desired, observed) -> changes, and nothing else.

`gates` decides whether a service may start (its dependencies' conditions), `tasks`
decides which tasks to create, start, remove or delete, `nodes` decides node liveness,
and `round` chains them with the scheduler into one `Decision` per round. None of these
modules performs I/O; `controlplane.leader` commits their decisions.
"""
