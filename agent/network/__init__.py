"""The node's share of the cluster network, built and owned by the agent.

- `plan.py`: pure decisions: the gateway of a subnet, host-gw or VXLAN per peer, the
  routes, FDB and neighbour entries wanted, and the diff against what is present.
- `bridge.py`: the Docker bridge network `dockyard0` with the node's subnet.
- `links.py`: links, routes, FDB and neighbours through netlink (pyroute2).
- `firewall.py`: the agent's own iptables rules, tagged with a comment.
- `manager.py`: puts them together for the agent's session.
"""
