"""Children that die with their parent, started without running Python in the child.

`subprocess.Popen(preexec_fn=...)` forks and runs Python in the child before exec. In a
process with gRPC's threads that fork is unsafe: the child can inherit a poller in the
middle of its work and exit before exec. util-linux's `setpriv --pdeathsig` sets
PR_SET_PDEATHSIG in its own process and then execs the real binary, so the child of the
fork runs no Python at all. util-linux is essential on Debian, so `setpriv` is there.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence

log = logging.getLogger(__name__)


def dying_with_parent(argv: Sequence[str], signame: str, setpriv: str | None) -> list[str]:
    """`argv` run so that it gets `signame` (e.g. "TERM") when the thread that started it
    exits. Without `setpriv` the argv is returned unchanged. Pure."""
    if setpriv is None:
        return list(argv)
    return [setpriv, "--pdeathsig", signame, "--", *argv]


def with_parent_death(argv: Sequence[str], signame: str) -> list[str]:
    """`dying_with_parent` with the `setpriv` found on PATH; without one (not Debian's
    util-linux), the child runs on its own and says so once in the log."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.warning("no setpriv (util-linux): %s will not die with this process", argv[0])
    return dying_with_parent(argv, signame, setpriv)
