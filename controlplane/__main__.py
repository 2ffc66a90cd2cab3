"""`python -m controlplane ...` is the same as the `dockyard` command."""

from controlplane.cli.main import main

raise SystemExit(main())
