"""The `dockyard` command: argument parsing, the gRPC client, and how output looks.

`main` parses and dispatches, `client` owns the channel and turns gRPC failures into
one-line errors, `render` turns objects into rows (pure), and `commands` holds one
function per subcommand. Every failure ends as one line on stderr and exit code 1.
"""
