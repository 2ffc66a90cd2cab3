"""`python -m dockyard.agent.network down [--docker URL]`: undo what the agent did to this host's
network (stop the agent first): its routes, FDB and neighbour entries, the VXLAN device,
its firewall rules, and `dockyard0` when no container uses it any more."""

from __future__ import annotations

import argparse
import os
import sys

from dockyard.agent.network.manager import teardown


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dockyard.agent.network", description=__doc__)
    p.add_argument("action", choices=("down",))
    p.add_argument("--docker", default=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
                   help="Docker Engine URL")
    args = p.parse_args(argv)
    try:
        print(teardown(args.docker))
    except Exception as exc:  # one line for the operator, whatever failed
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
