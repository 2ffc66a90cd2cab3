"""`dockyard exec` against the in-memory runtime: a handful of commands, so the whole
path (CLI, control plane, session, agent) can be exercised on hollow nodes.

`echo ARGS` prints its arguments, `cat` copies its input to its output until the input
ends, `tty` says whether it has a terminal (exit 1 without one, as the real one does),
`exit N` ends with status N. Anything else is "not found", status 127.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

from dockyard.agent.runtime.driver import STDERR, STDOUT, ExecSpec

_END = b""


class FakeExec:
    """An `agent.runtime.driver.ExecSession` that runs one of the commands above."""

    def __init__(self, spec: ExecSpec) -> None:
        self._spec = spec
        self._input: queue.Queue[bytes] = queue.Queue(maxsize=64)
        self._code = 0
        self.sizes: list[tuple[int, int]] = []

    def output(self) -> Iterator[tuple[int, bytes]]:
        argv = list(self._spec.argv)
        name, args = argv[0], argv[1:]
        if name == "echo":
            yield STDOUT, (" ".join(args) + "\n").encode()
        elif name == "cat":
            while (chunk := self._input.get(timeout=300)) != _END:
                yield STDOUT, chunk
        elif name == "tty":
            yield STDOUT, b"/dev/pts/0\n" if self._spec.tty else b"not a tty\n"
            self._code = 0 if self._spec.tty else 1
        elif name == "exit" and len(args) == 1 and args[0].isdigit():
            self._code = int(args[0]) % 256
        else:
            yield STDERR, f"{name}: not found\n".encode()
            self._code = 127

    def write(self, data: bytes) -> None:
        if data:
            self._input.put(data, timeout=30)

    def close_input(self) -> None:
        self._input.put(_END, timeout=30)

    def resize(self, rows: int, cols: int) -> None:
        self.sizes.append((rows, cols))

    def exit_code(self) -> int:
        return self._code

    def close(self) -> None:
        try:
            self._input.put_nowait(_END)
        except queue.Full:
            pass
