"""`CliError`, in a module of its own so that the entry point can catch it without
importing gRPC: `dockyard --version` and `dockyard context ls` never load it."""

from __future__ import annotations


class CliError(Exception):
    """A failure to show the user as one line."""
