"""The `dockyard` command: argument parsing, dispatch, and how output looks.

It sits above every other package: it starts the server (`dockyard.controlplane`), the
agent (`dockyard.agent`) and the testbed (`dockyard.deploy`), and talks to a running
server through the client library (`dockyard.client`).

`main` is the entry: `parser` builds the arguments of every command (the shared flags
in `flags`, the server's in `server`, which also starts it) and `dispatch` runs the
chosen one, importing only what that command needs. `render` turns objects into rows
(pure), `tables` and `progress` draw them for a terminal or plain for a pipe, `wait`
follows an apply until it is healthy, and `commands` holds one function per
subcommand; `contexts`, `watch` (events) and `completion` hold the everyday-habit
commands. Every failure ends as one line on stderr and exit code 1.
"""
