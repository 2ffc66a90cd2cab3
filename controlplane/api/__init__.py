"""gRPC servicers: `control` for the CLI (one mixin per command family: `apps`,
`versions`, `reads`, `nodes`, `streams`, `tokens`, sharing `base`); `certificates`,
`sessions` and `logs` for agents; `roles`, the one table of which certificate each rpc
needs, and its interceptor. Thin: each rpc validates, reads or commits through the
store, and maps failures to one-line statuses."""
