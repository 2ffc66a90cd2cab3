"""The rules a valid app follows, shared by the Compose loader and the server.

The loader (`dockyard.client.compose`) applies them to a file; the server applies them
again to every request, whatever client sent it, so the two can never drift apart:

- `rules`: the name grammar, the ranges and the limits (docs/limits.md);
- `admissible`: a wire `AppSpec` judged field by field against `rules`;
- `validate`: checks across services (missing dependencies, cycles, host ports);
- `privileges`: which node privileges an app asks for (docs/security.md);
- `units`, `images`, `errors`: sizes and durations, image references, `SpecError`.

Pure: no I/O, no gRPC, no etcd.
"""
