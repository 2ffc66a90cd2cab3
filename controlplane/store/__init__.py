"""Desired and observed state in etcd.

`keys` is the key layout (pure), `codec` turns protobuf objects into bytes and back
(pure), and `etcd` is the only module that performs etcd I/O. See docs/architecture.md
for the layout.
"""
