"""Image reference validation, per the Docker reference grammar.

Why: a typo in an image name otherwise surfaces minutes later as a pull failure on
some node. The grammar (from distribution/reference) is::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := host [":" port]
    path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := "sha256:" 64 lowercase hex digits (other algorithms: algo ":" hex)

The first component counts as a domain when it contains "." or ":", or is
"localhost", as Docker decides. Pure.
"""

from __future__ import annotations

import re

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")
_MAX_NAME = 255


def image_reference_problem(reference: str) -> str | None:
    """Why ``reference`` is not a valid image reference, or None when it is.

    A purely computational function with no side effects.
    """
    if not reference:
        return "it is empty"
    if reference != reference.strip() or any(ch.isspace() for ch in reference):
        return "it contains whitespace"
    rest = reference
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if digest.startswith("sha256:") and not _SHA256.fullmatch(digest):
            return "a sha256 digest is 64 lowercase hex digits"
        if not _DIGEST.fullmatch(digest):
            return f"digest {digest!r} is not ALGORITHM:HEX"
    # A tag follows the last ":" unless that colon belongs to a registry port.
    last_colon = rest.rfind(":")
    if last_colon > rest.rfind("/"):
        name, tag = rest[:last_colon], rest[last_colon + 1 :]
        if not _TAG.fullmatch(tag):
            return f"tag {tag!r} is not valid (letters, digits, '_', '.', '-'; at most 128)"
    else:
        name = rest
    if not name:
        return "the repository name is missing"
    if len(name) > _MAX_NAME:
        return f"the repository name is longer than {_MAX_NAME} characters"
    components = name.split("/")
    first = components[0]
    if len(components) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.fullmatch(first):
            return f"registry {first!r} is not a valid host[:port]"
        components = components[1:]
    for component in components:
        if not component:
            return "it has an empty path component"
        if component != component.lower() and _PATH_COMPONENT.fullmatch(component.lower()):
            return "the repository name must be lowercase"
        if not _PATH_COMPONENT.fullmatch(component):
            return (
                f"path component {component!r} is not valid "
                "(lowercase letters and digits, joined by '.', '_', '__' or '-')"
            )
    return None
