"""How long the agent waits before trying a call again, and how long a call may take.

The session (agent/session.py) reconnects after an exponential backoff with jitter,
longer when the server said it is overloaded, so a slow control plane sees agents spread
out instead of all coming back at once; heartbeats and status batches are retried with
their own waits and longer timeouts, and a server's own hint (common/retryhint.py) is
honoured. Pure, but for `retry_hint_s`, which reads a refusal's trailer.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from dockyard.common.retryhint import retry_after_s

_BASE_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 4.0
# A server that answered but is overloaded (a timed-out Register, "too many joins") is
# given more room than one that is down: coming back sooner would only add to its load.
_OVERLOADED_BACKOFF_S = 15.0
_OVERLOADED_BASE_S = 1.0
# CANCELLED too: a server that is far behind has calls cancelled by gRPC itself (a
# Register or a status batch failing at once, a few hundred at the same moment at 1,000
# nodes), and coming back at once is what keeps it behind.
_OVERLOADED = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
               grpc.StatusCode.CANCELLED)
# A thousand nodes joining at once queue behind each other's handshakes and registrations
# for as long as the server takes to serve them all (9-22 s on two cores, by the load):
# a deadline shorter than that queue throws away the server's work on every call that
# misses it, and the same work comes again.
_REGISTER_TIMEOUT_S = 30.0
# The longest wait a server's "too many joins" hint may ask of the agent.
_REGISTER_HINT_CAP_S = 60.0
# A session whose heartbeats have all failed for this long is given up (another replica
# may answer); shorter trouble is ridden out, one heartbeat in flight at a time.
_HEARTBEAT_GIVE_UP_S = 30.0
# A call that failed with these may succeed when the server has caught up: retried.
_RETRY = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
          grpc.StatusCode.RESOURCE_EXHAUSTED)
# A status batch refused with these ends the session: the server no longer holds it
# (register again) or will never take this node's reports on it. Any other failure is
# the server being slow or away, which waiting fixes: the batch is sent again.
_STATUS_FINAL = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                 grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION)
# The longest wait between two tries of a status batch; an overloaded server's own
# hint (common/retryhint.py) may ask for up to _STATUS_HINT_CAP_S.
_STATUS_BACKOFF_CAP_S = 8.0
_STATUS_HINT_CAP_S = 30.0


def backoff_s(failures: int, rand: float, *, base: float = _BASE_BACKOFF_S,
              cap: float = _MAX_BACKOFF_S) -> float:
    """The wait after `failures` failures in a row: doubling from `base` up to `cap`, then
    scaled into [1/2, 1] of that by `rand` in [0, 1) (jitter). Pure."""
    full = min(cap, base * 2.0 ** min(max(0, failures - 1), 40))  # no overflow, ever
    return full * (0.5 + rand / 2)


def heartbeat_timeout_s(period: float, failures: int = 0) -> float:
    """How long one heartbeat may take: a few periods, never under 5 s, doubling with each
    failure in a row up to 30 s, so a slow server is not sent the same work again and
    again. Pure."""
    return min(30.0, max(3 * period, 5.0) * 2.0 ** min(failures, 4))


def status_timeout_s(failures: int) -> float:
    """How long one batch of statuses may take: 5 s, doubling with each failure in a row
    up to 30 s. Pure."""
    return min(30.0, 5.0 * 2.0 ** min(failures, 3))


def status_retry_s(code: grpc.StatusCode, failures: int, rand: float,
                   hint_s: float = 0.0) -> float | None:
    """After the `failures`-th status batch in a row failed with `code`: None when the
    session is over (_STATUS_FINAL), else the seconds to wait before sending the batch
    again. A slow status call never ends a session: that made the agent register again
    and resend everything, more load for a server already behind, and its node fell
    silent meanwhile (at 1,000 nodes, hundreds of live nodes declared down). Whether the
    session lives is the heartbeats' to say. The wait doubles from _BASE_BACKOFF_S up to
    _STATUS_BACKOFF_CAP_S with jitter, and is at least the server's hint, jittered up
    to a quarter more so the agents it refused together do not come back together.
    Pure."""
    if code in _STATUS_FINAL:
        return None
    wait = backoff_s(failures, rand, cap=_STATUS_BACKOFF_CAP_S)
    hint = min(max(0.0, hint_s), _STATUS_HINT_CAP_S)
    return max(wait, hint * (1.0 + rand / 4))


def retry_hint_s(exc: grpc.aio.AioRpcError) -> float:
    """The wait a server asked for in a refusal (common/retryhint.py), in seconds."""
    return retry_after_s(exc.trailing_metadata())


def register_retry_s(refusals: int, rand: float, hint_s: float = 0.0) -> float:
    """The wait before asking again after the `refusals`-th Register in a row refused
    as "too many joins" (RESOURCE_EXHAUSTED). The server's hint (common/retryhint.py)
    is honoured: the wait is that, jittered up to a tenth more, and never under a
    jittered backoff doubling from _BASE_BACKOFF_S up to _MAX_BACKOFF_S, so an agent
    refused without a hint does not come straight back; a hint is honoured up to
    _REGISTER_HINT_CAP_S. The agent never gives up. Pure."""
    wait = backoff_s(refusals, rand)
    hint = min(max(0.0, hint_s), _REGISTER_HINT_CAP_S)
    return max(wait, hint * (1.0 + rand / 10))


def register_timeout_s(failures: int) -> float:
    """How long a Register may take: 30 s, doubling with each failed session in a row up
    to 60 s. Pure."""
    return min(60.0, _REGISTER_TIMEOUT_S * 2.0 ** min(max(0, failures), 3))


def heartbeat_wait_s(period: float, failures: int, rand: float) -> float:
    """The wait before the next heartbeat: the period, jittered by +-10% so agents that
    started together do not beat together; after a failure, a jittered backoff from a
    tenth of the period that never exceeds the period. Pure."""
    if not failures:
        return period * (0.9 + 0.2 * rand)
    return backoff_s(failures, rand, base=period / 10, cap=period)


class RetryWindow:
    """One kind of call's failures in a row, and whether it is still worth retrying:
    only codes that waiting can change (_RETRY), for up to _HEARTBEAT_GIVE_UP_S since
    the last answer. For heartbeats sent one call each (a server without the stream);
    status batches are never given up (`status_retry_s`)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last_ok = clock()
        self.failures = 0

    def ok(self) -> None:
        self.failures = 0
        self._last_ok = self._clock()

    def retry_after(self, code: grpc.StatusCode) -> bool:
        """Count a failure; True when the call should be tried again."""
        self.failures += 1
        return code in _RETRY and self._clock() - self._last_ok <= _HEARTBEAT_GIVE_UP_S


def session_backoff_s(failures: int, rand: float, code: grpc.StatusCode | None) -> float:
    """The wait before reconnecting after `failures` failed sessions in a row; longer
    when the server answered that it is overloaded: from _OVERLOADED_BASE_S (a Register
    that waited out its deadline in a busy server's queue, sent again at once on a new
    connection, was only more of the load that made it late) up to
    _OVERLOADED_BACKOFF_S. Pure."""
    if code in _OVERLOADED:
        return backoff_s(failures, rand, base=_OVERLOADED_BASE_S, cap=_OVERLOADED_BACKOFF_S)
    return backoff_s(failures, rand)


def keeps_checked_ca(code: grpc.StatusCode) -> bool:
    """Whether a join whose Register failed with `code` keeps the CA this process checked
    for its address and token (agent/identity.py, CheckedCas): yes when the server was
    only slow or busy (_OVERLOADED), since the next attempt would pay one more TLS
    handshake to learn the same CA; no for any other failure, where the CA may really
    have changed (a handshake refused, a token rotated). A CA that changed while kept
    fails the next handshake (UNAVAILABLE), which forgets it. Pure."""
    return code in _OVERLOADED
