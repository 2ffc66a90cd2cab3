"""Container runtimes behind one Dockyard-shaped interface.

`driver` holds the interface the runner uses (`Driver`), the neutral container state and
the create request, all in Dockyard's words. Each runtime lives in its own room beside it:
`docker/` translates to the Docker Engine API, `fake` keeps containers in memory (unit
tests and hollow nodes). Nothing outside a runtime's room imports that runtime's SDK.
"""
