"""Node names: one DNS label, so a name is safe as an etcd key segment, a certificate's
CN and SAN, a directory name on the host and a DNS answer. Pure.

RFC 1123 label rules, lower case only: 1-63 of a-z, 0-9 and '-', starting and ending
with a letter or digit. No '/', '.', '..', NUL, newline, upper case or underscore.
"""

from __future__ import annotations

import re

MAX_NODE_NAME = 63
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def node_name_problem(name: str) -> str | None:
    """Why `name` cannot be a node name, in one line, or None when it can. Pure."""
    if not name:
        return "the node has no name"
    if len(name) > MAX_NODE_NAME:
        return f"node name is {len(name)} characters long; at most {MAX_NODE_NAME} are allowed"
    if not _LABEL.fullmatch(name):
        return (f"bad node name {name!r}: use lower-case letters, digits and '-', starting "
                "and ending with a letter or digit (a DNS label)")
    return None
