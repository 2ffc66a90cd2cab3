"""Heartbeats on one long stream (the Heartbeats rpc), sent on schedule.

A Heartbeat call per beat costs gRPC's whole per-call work on both sides (a new call,
its metadata, the role check, its completion events): at 1,000 idle nodes and one beat
a second that was about a third of a core for the server and as much for the agents,
before any task existed. A message on a stream that is already open costs a fraction
of that, so the agent opens one Heartbeats stream per session and writes a beat each
period, answered with the period until the next when it asks (below).

Not every beat is answered: an answer costs the server a message to write and the
agent one to read, so the agent asks for one every ASK_EVERY beats (the first beat of
a stream asks). A beat of a session the server does not know ends the stream
NOT_FOUND whether it asks or not, so a node declared down still hears of it at its
next beat.

Beats go on schedule, not one at a time after the last answer: a server that is slow
to read finds the latest beat waiting, and a beat waiting on a stream costs it one
read. An ask still unanswered after ASK_EVERY more beats asks again; after
GIVE_UP_S with no answer at all the agent ends the session (another replica may
answer). A stream that breaks is opened again after a jittered backoff, within the
same window. A server that does not know the rpc (an older version) says
UNIMPLEMENTED, and the caller falls back to one Heartbeat call per beat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from dockyard.v1 import dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger("dockyard.agent")

ASK_EVERY = 5
GIVE_UP_S = 30.0
# A stream that ended with these may work when opened again (the server caught up).
_REOPEN = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
           grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED)


class Unsupported(Exception):
    """The server does not serve the Heartbeats stream: beat with one call each."""


class NoAnswer(ConnectionError):
    """No heartbeat was answered for GIVE_UP_S: the session is given up."""


SEND, ASK, GIVE_UP = "send", "ask", "give up"


def next_beat(since_ask: int, silent_s: float) -> str:
    """What to do when a beat is due. `since_ask`: beats sent since the last ask (a
    new stream starts at ASK_EVERY, so its first beat asks); `silent_s`: seconds since
    the last answer, or since the stream opened. GIVE_UP after GIVE_UP_S of silence;
    ASK on every ASK_EVERY-th beat; otherwise SEND. A beat is never skipped: a node
    that stops beating is declared down. Pure."""
    if silent_s > GIVE_UP_S:
        return GIVE_UP
    return ASK if since_ask >= ASK_EVERY - 1 else SEND


@dataclass
class Ledger:
    """Beats since the last ask, the last answer's time, and the period the server
    asked for."""

    period: float
    answered_at: float
    since_ask: int = ASK_EVERY  # a new stream asks first
    answers: int = 0

    def sent(self, ask: bool) -> None:
        self.since_ask = 0 if ask else self.since_ask + 1

    def answered(self, reply: dispatcher_pb2.HeartbeatResponse, now: float) -> None:
        self.answers += 1
        self.answered_at = now
        self.period = reply.period_ms / 1000 or self.period

    def reopened(self) -> None:
        self.since_ask = ASK_EVERY


async def beat(
    stub: dispatcher_pb2_grpc.SessionsStub, *, node: str, session_id: str, period: float,
    wait_s: Callable[[float], float], backoff_s: Callable[[int], float],
) -> None:
    """Heartbeat on Heartbeats streams until the session ends: returns never, raises
    what ends it (NOT_FOUND: register again; NoAnswer; a code no reopening can fix),
    or Unsupported when the server does not know the rpc. `wait_s(period)` is the
    jittered wait between beats, `backoff_s(failures)` the wait before reopening."""
    loop = asyncio.get_running_loop()
    ledger = Ledger(period, loop.time())
    beats = {ask: dispatcher_pb2.HeartbeatRequest(node=node, session_id=session_id, answer=ask)
             for ask in (False, True)}
    failures = 0
    while True:
        answers_before = ledger.answers
        try:
            await _one_stream(stub, beats, ledger, wait_s)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNIMPLEMENTED and not ledger.answers:
                raise Unsupported() from None
            if code not in _REOPEN or loop.time() - ledger.answered_at > GIVE_UP_S:
                raise
            failures = 1 if ledger.answers > answers_before else failures + 1
            log.warning("heartbeat stream ended: %s; opening it again",
                        exc.details() or code)
            ledger.reopened()
            await asyncio.sleep(backoff_s(failures))


async def _one_stream(
    stub: dispatcher_pb2_grpc.SessionsStub, beats: dict[bool, dispatcher_pb2.HeartbeatRequest],
    ledger: Ledger, wait_s: Callable[[float], float],
) -> None:
    loop = asyncio.get_running_loop()
    call = stub.Heartbeats()

    async def answers() -> None:
        async for reply in call:
            ledger.answered(reply, loop.time())
        raise ConnectionError("the control plane ended the heartbeat stream")

    reader = asyncio.create_task(answers())
    pause = Pause(reader)
    try:
        while True:
            what = next_beat(ledger.since_ask, loop.time() - ledger.answered_at)
            if what == GIVE_UP:
                raise NoAnswer(f"no heartbeat answered for {GIVE_UP_S:.0f}s")
            ledger.sent(what == ASK)  # before the write: its answer may come during it
            try:
                async with asyncio.timeout(GIVE_UP_S):
                    await call.write(beats[what == ASK])
            except TimeoutError:
                raise NoAnswer("the heartbeat stream is stuck") from None
            except (asyncio.InvalidStateError, grpc.aio.AioRpcError):
                # The stream ended: what the reader saw says why.
                await pause.until(GIVE_UP_S)
                if not reader.done():
                    raise NoAnswer("the heartbeat stream is stuck") from None
                reader.result()
            await pause.until(wait_s(ledger.period))
            if reader.done():
                reader.result()  # raises what ended the stream
    finally:
        reader.cancel()
        call.cancel()


class Pause:
    """A wait between two beats that ends early when `task` (the stream's reader) ends.

    One future and one timer a beat. `asyncio.wait_for` around each write (a task of its
    own) and `asyncio.wait` for each pause (sets, callbacks, a future and a timer) were
    about a third of a hollow process's heartbeat time in a 1,000-node join, where a
    thousand nodes beat every second while the others join."""

    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task
        self._waiter: asyncio.Future[None] | None = None
        task.add_done_callback(self._wake)

    def _wake(self, _task: object = None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def until(self, seconds: float) -> None:
        """Return after `seconds`, or as soon as the task is done (at once if it is)."""
        if self._task.done():
            return
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(seconds, self._wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
