"""The cluster network as the control plane sees it: node subnets and the node table.

Pure functions only; Register stores what they decide and the Sessions service sends it
to agents.
"""
