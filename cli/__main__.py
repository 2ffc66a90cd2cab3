"""`python -m dockyard.cli ...` is the same as the `dockyard` command."""

try:
    from dockyard.cli.main import run
except KeyboardInterrupt:  # a ctrl-c while Python is still importing: no traceback
    import os
    import sys

    print("interrupted", file=sys.stderr)
    os._exit(130)

run()
