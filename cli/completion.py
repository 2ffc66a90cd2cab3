"""Shell completion through argcomplete: `dockyard completion bash` prints the script to
source (`source <(dockyard completion bash)`, or keep it in ~/.bash_completion).

The shell calls `dockyard` itself with `_ARGCOMPLETE` set; `main` then builds the whole
parser and `complete` answers and exits. argcomplete is imported only on those two
paths, never by an ordinary call.
"""

from __future__ import annotations

import argparse


def print_completion(shell: str) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["dockyard"], shell=shell), end="")
    return 0


def complete(parser: argparse.ArgumentParser) -> None:
    import argcomplete

    argcomplete.autocomplete(parser)
