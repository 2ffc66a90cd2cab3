"""`python -m dockyard.cli ...` is the same as the `dockyard` command."""

from dockyard.cli.main import main

raise SystemExit(main())
