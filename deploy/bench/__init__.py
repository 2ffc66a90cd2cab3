"""Benchmarks and chaos scenarios on the netns testbed, behind the promises in docs/promises.md.

`cluster` reads the cluster through the real Control API and the real engines, and holds
the checks every scenario ends with (no task lost, none duplicated, no healthy container
restarted without need). `deploy`, `failover` and `chaos` are the runnable programs
behind `make bench-deploy`, `make bench-failover` and `make chaos`. Each prints its
figures beside a baseline measured in the same run, and writes JSON to bench-results/.
"""
