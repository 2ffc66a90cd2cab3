"""`dockyard dev-cluster up|down|status`: the local multi-host testbed (run as root), or
with `--hollow N` a server and N hollow agents on loopback (no root, no Docker).

`up` writes the `dev` context (every server replica, the testbed's admin credential) and
makes it current, so a plain `dockyard get nodes` talks to the testbed; `down` removes
that context.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from dockyard.client.errors import CliError


def add_devcluster_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="build or repair the testbed (idempotent)")
    up.add_argument("--nodes", type=int, default=3, help="number of hosts (default 3)")
    up.add_argument("--hollow", type=int, default=0, metavar="N",
                    help="instead of the testbed: a server on loopback and N hollow agents "
                         "(real sessions, in-memory containers; no root needed)")
    up.add_argument("--node-cpus", type=float, help="CPUs each agent offers")
    up.add_argument("--node-memory", help="memory each agent offers, e.g. 4G")
    up.add_argument("--labels", action="append", default=[],
                    help="labels for host i as i:k=v,k=v (repeatable)")
    up.add_argument("--etcd-members", type=int, default=0,
                    help="run N external etcd members instead of the server's embedded "
                         "one (default 0: embedded)")
    up.add_argument("--segments", type=int, default=None,
                    help="L2 segments the hosts are split over, joined by a router "
                         "namespace: agents use VXLAN between segments (default: as the "
                         "running testbed, else 1)")
    up.add_argument("--servers", type=int, default=1,
                    help="control-plane replicas on :7070+i (default 1; more need "
                         "--etcd-members)")
    down = sub.add_parser("down", help="remove exactly what up made (the hollow cluster if "
                                       "one is up, else the testbed)")
    down.add_argument("--hollow", action="store_true",
                      help="only a hollow cluster: never touch the testbed")
    status = sub.add_parser("status", help="addresses, hosts and pids")
    status.add_argument("-o", "--output", choices=("table", "json"), default="table")


def run_devcluster(args: Any) -> int:
    hollow = _run_hollow(args)
    if hollow is not None:
        return hollow
    if os.geteuid() != 0:
        raise CliError("dev-cluster needs root (network namespaces and Docker Engines)")
    from dockyard.deploy import testbed

    try:
        if args.action == "up":
            st = testbed.up(nodes=args.nodes, node_cpus=args.node_cpus,
                            node_memory=args.node_memory, labels=args.labels,
                            etcd_members=args.etcd_members, servers=args.servers,
                            segments=args.segments)
            _print_status(st.to_json(), "table")
            from dockyard.cli.contexts import keep_dev_context

            note = keep_dev_context(st.servers or [st.server], st.credentials)
            print(f"\n{note}" if note else f"\nexport DOCKYARD_SERVER={st.server} "
                  f"DOCKYARD_CREDENTIALS={st.credentials}")
            return 0
        if args.action == "down":
            testbed.down()
            from dockyard.cli.contexts import drop_dev_context

            drop_dev_context()
            return 0
        st_opt = testbed.status()
        if st_opt is None:
            raise CliError("no testbed is up (dockyard dev-cluster up)")
        _print_status(st_opt.to_json(), args.output)
        return 0
    except testbed.TestbedError as exc:
        raise CliError(str(exc)) from None


def _run_hollow(args: Any) -> int | None:
    """The hollow form of up/down/status, or None when the testbed is meant."""
    from dockyard.deploy.bench import scale_cluster as hollow

    try:
        if args.action == "up":
            if not args.hollow:
                return None
            if args.hollow < 1:
                raise CliError("--hollow needs a positive number of nodes")
            cluster = hollow.up(args.hollow)
            _print_hollow(cluster.to_json(), "table")
            from dockyard.cli.contexts import keep_dev_context

            note = keep_dev_context([cluster.address], str(cluster.credentials))
            if note:
                print(f"\n{note}")
            print(f"export DOCKYARD_SERVER={cluster.address} "
                  f"DOCKYARD_CREDENTIALS={cluster.credentials}")
            return 0
        if args.action == "down":
            if hollow.down():
                from dockyard.cli.contexts import drop_dev_context

                drop_dev_context()
                return 0
            if args.hollow or os.geteuid() != 0:
                print("no hollow cluster is up" + ("" if args.hollow else
                      " (and only root can take a testbed down)"))
                return 0
            return None
        found = hollow.status()
        if found is None:
            return None
        _print_hollow(found.to_json(), args.output)
        return 0
    except hollow.HollowError as exc:
        raise CliError(str(exc)) from None


def _print_hollow(data: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    print(f"server    {data['server']} (pid {data['server_pid']}, embedded etcd)")
    print(f"hollow    {data['nodes']} nodes in {len(data['processes'])} processes")
    for p in data["processes"]:
        print(f"  pid {p['pid']}: {p['nodes']} nodes from {p['first']}")


def _print_status(data: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    print(f"server    {data['server']}")
    servers = data.get("servers") or []
    if len(servers) > 1:
        pids = data.get("server_pids") or [None] * len(servers)
        for i, (addr, pid) in enumerate(zip(servers, pids, strict=False), start=1):
            print(f"  replica s{i}: {addr}, pid {pid}")
    etcd = data.get("etcd") or []
    if etcd:
        pids = data.get("etcd_pids") or [None] * len(etcd)
        for i, (url, pid) in enumerate(zip(etcd, pids, strict=False), start=1):
            print(f"  etcd e{i}: {url}, pid {pid}")
    else:
        print("etcd      embedded in the server")
    print(f"registry  {data['registry']}")
    print(f"image     {data.get('image', '')}")
    for h in data["hosts"]:
        print(f"host {h['name']}: netns {h['netns']}, address {h['address']}, "
              f"docker unix://{h['docker_socket']}, agent pid {h['agent_pid']}")
