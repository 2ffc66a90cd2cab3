"""The cluster network as the control plane sees it: node subnets and the node table.

Pure functions only; the dispatcher stores what they decide and sends it to agents.
"""
