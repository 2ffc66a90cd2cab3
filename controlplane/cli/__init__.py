"""The `dockyard` command: argument parsing, the gRPC client, and how output looks.

`main` parses and dispatches (importing only what the chosen command needs), `client`
owns the channels and turns gRPC failures into one-line errors (moving to the next
server address when one is down), `render` turns objects into rows (pure), `tables` and
`progress` draw them for a terminal or plain for a pipe, and `commands` holds one
function per subcommand; `contexts`, `watch` (events) and `completion` hold the
everyday-habit commands. Every failure ends as one line on stderr and exit code 1.
"""
