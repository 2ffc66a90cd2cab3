"""gRPC servicers: `control` for the CLI, `dispatcher` for agents. Thin: each rpc
validates, reads or commits through the store, and maps failures to one-line statuses."""
