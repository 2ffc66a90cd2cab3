"""`dockyard exec APP/SERVICE[/SLOT] [-i] [-t] -- CMD...`: a command in a task's container.

The call is one bidirectional stream. Its first message says what to run; input (with
-i) and terminal sizes (with -t, on SIGWINCH) follow from a reader thread through a
bounded queue. Input is held back until the server's first answer, so when a server is
down and the call moves to the next one, no keystroke is lost. With -t the local
terminal is put in raw mode, and restored however the command ends. The exit code is
the command's; 125 means Dockyard could not run it at all.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import grpc

from dockyard.client.control import control_stub, describe_rpc_error
from dockyard.client.errors import CliError
from dockyard.v1 import control_pb2

NOT_RUN = 125
_CHUNK = 32 * 1024


def parse_target(target: str) -> tuple[str, str, int]:
    """APP/SERVICE or APP/SERVICE/SLOT (slot 0: every task, or the lowest running one),
    as `exec` and `logs` take it. Pure."""
    parts = target.split("/")
    if len(parts) not in (2, 3) or not all(parts) or (len(parts) == 3 and not parts[2].isdigit()):
        raise CliError(f"expected APP/SERVICE or APP/SERVICE/SLOT, got {target!r}")
    return parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 0


def command_words(words: list[str]) -> list[str]:
    """The command after the target, without the `--` that may separate it. Pure."""
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise CliError("exec needs a command: dockyard exec APP/SERVICE -- CMD [ARG...]")
    return words


class Input:
    """What goes up after the start message: stdin chunks, the end of stdin, and
    terminal sizes. Bounded; `close()` ends the request stream."""

    _END = control_pb2.ExecInput()

    def __init__(self) -> None:
        self.items: queue.Queue[control_pb2.ExecInput] = queue.Queue(maxsize=64)
        self.answered = threading.Event()
        self._closed = threading.Event()

    def requests(self, start: control_pb2.ExecStart) -> Iterator[control_pb2.ExecInput]:
        yield control_pb2.ExecInput(start=start)
        while not self.answered.wait(0.5):
            if self._closed.is_set():
                return
        while (item := self.items.get()) is not self._END:
            yield item

    def put(self, item: control_pb2.ExecInput) -> None:
        if not self._closed.is_set():
            self.items.put(item)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(queue.Full):
            self.items.put_nowait(self._END)


def _read_stdin(inp: Input) -> None:
    """Runs in a daemon thread: stdin, chunk by chunk, then its end."""
    fd = sys.stdin.fileno()
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            data = b""
        if not data:
            inp.put(control_pb2.ExecInput(eof=True))
            return
        inp.put(control_pb2.ExecInput(data=data))


def _size() -> tuple[int, int]:
    try:
        cols, rows = os.get_terminal_size(sys.stdin.fileno())
    except OSError:
        return 0, 0
    return rows, cols


@contextlib.contextmanager
def _raw_terminal(enabled: bool) -> Iterator[None]:
    """Raw mode on stdin for the command's terminal; the old mode back on any exit."""
    if not enabled:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # keep what was typed ahead
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def cmd_exec(args: Any) -> int:
    try:
        return _run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NOT_RUN


def _run(args: Any) -> int:
    app, service, slot = parse_target(args.target)
    argv = command_words(list(args.cmd))
    if args.tty and not sys.stdin.isatty():
        raise CliError("-t needs a terminal on stdin; leave out -t to pipe input")
    rows, cols = _size() if args.tty else (0, 0)
    start = control_pb2.ExecStart(
        app=app, service=service, slot=slot, argv=argv, tty=args.tty,
        stdin=args.interactive, rows=rows, cols=cols, env=args.env or [],
        user=args.user or "", workdir=args.workdir or "")
    client = control_stub(args.server, args.credentials)
    inp = Input()
    if args.interactive:
        threading.Thread(target=_read_stdin, args=(inp,), daemon=True).start()
    if args.tty:
        def resized(*_: object) -> None:
            r, c = _size()
            with contextlib.suppress(queue.Full):
                inp.items.put_nowait(control_pb2.ExecInput(rows=r, cols=c))
        signal.signal(signal.SIGWINCH, resized)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = NOT_RUN
    try:
        with _raw_terminal(args.tty):
            for out in client.exec_stream(lambda: inp.requests(start), timeout=None):
                inp.answered.set()
                if out.data:
                    sink = sys.stderr if out.stream == 2 else sys.stdout
                    sink.buffer.write(out.data)
                    sink.buffer.flush()
                if out.exited:
                    code = out.exit_code
    except grpc.RpcError as exc:
        print(f"error: {describe_rpc_error(exc, args.server)}", file=sys.stderr)
        return NOT_RUN
    except KeyboardInterrupt:
        return 130
    finally:
        inp.close()
    return code if 0 <= code <= 255 else NOT_RUN
