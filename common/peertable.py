"""The node table (peers) as changes: the whole table once per session, then only rows.

Every node routes to every other node's container subnet, so every session carries the
node table. Sent whole on each change, it costs the square of the nodes: while a
thousand nodes join, each of a thousand sessions would get a table of up to a thousand
rows every second (about 150 MB over one join), and every agent would parse it. Sent as
changes, each session gets each row once, plus what changes later.

The server side (`PeerLog`) keeps the current rows, an epoch per publication and the
changes of the last `HISTORY` epochs, each serialized once for every session. A session
that sent epoch E asks `since(E)`: the changes after E, concatenated (a protobuf message
concatenated with another is the two merged, repeated fields appended in order), or the
whole table when it cannot be sure the agent holds the base: a new session (no epoch),
a session further behind than the history, a log reset (the server's mirror reloaded),
or changes that would be larger than the table itself.

The agent side (`apply`) keeps its table across the messages of one session and starts
over with each session: the server's stream starts with the whole table.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from dockyard.v1 import dispatcher_pb2

PeerRow = tuple[str, str]  # (address, subnet)
# Publications whose changes are kept: at most one a second (controlplane/api/fanout.py),
# so a session a minute behind still gets changes, not the table.
HISTORY = 64


class PeerLog:
    """The node table, its epoch, and the changes of the last `HISTORY` epochs."""

    def __init__(self, history: int = HISTORY) -> None:
        self.rows: dict[str, PeerRow] = {}
        self.epoch = 0
        self._history = history
        self._dirty: set[str] = set()  # names whose row changed since the last publish
        # (epoch, its changes serialized, how many rows): the changes from epoch-1 to it.
        self._changes: deque[tuple[int, bytes, int]] = deque()
        # The whole table of an epoch, built when first asked for (a new session).
        self._table: tuple[int, dispatcher_pb2.SessionMessage] | None = None
        self._table_wire: tuple[int, bytes] | None = None
        self._since: dict[int, bytes] = {}  # answers of this epoch, by the asker's epoch

    def take(self, name: str, row: PeerRow | None) -> bool:
        """A node's current row (None: it has no route, or is gone); True when it
        differs from the row held."""
        if self.rows.get(name) == row:
            return False
        if row is None:
            del self.rows[name]
        else:
            self.rows[name] = row
        self._dirty.add(name)
        return True

    def reset(self, rows: Mapping[str, PeerRow]) -> None:
        """Start over from `rows` (after a reload): no change is kept, so every session
        gets the whole table next; call `publish` to give it a new epoch."""
        self.rows = dict(rows)
        self._dirty.clear()
        self._changes.clear()

    def publish(self) -> int:
        """A new epoch holding the rows that changed since the last one. Returns it."""
        self.epoch += 1
        names = sorted(self._dirty)
        self._dirty.clear()
        if names:
            msg = dispatcher_pb2.SessionMessage(peer_changes=[
                _peer(n, self.rows.get(n)) for n in names])
            self._changes.append((self.epoch, msg.SerializeToString(), len(names)))
        else:
            self._changes.clear()  # after a reset: no base to build on
        while len(self._changes) > self._history:
            self._changes.popleft()
        self._since = {}
        return self.epoch

    def table(self) -> dispatcher_pb2.SessionMessage:
        """The whole table as one message (every node's row, the receiver's own too),
        built once per epoch. Rows taken since the epoch's publication may be in it:
        harmless, the changes that follow hold whole rows."""
        if self._table is None or self._table[0] != self.epoch:
            self._table = (self.epoch, dispatcher_pb2.SessionMessage(has_peers=True, peers=[
                _peer(n, r) for n, r in sorted(self.rows.items())]))
        return self._table[1]

    def table_wire(self) -> bytes:
        """`table()` serialized, once per epoch however many sessions ask."""
        if self._table_wire is None or self._table_wire[0] != self.epoch:
            self._table_wire = (self.epoch, self.table().SerializeToString())
        return self._table_wire[1]

    def since(self, epoch: int) -> bytes:
        """What brings a session that sent `epoch` (-1: nothing yet) to the current one:
        the changes after it, or the whole table when they are not all kept or would
        hold more rows than the table; b"" when it is current."""
        if epoch == self.epoch:
            return b""
        cached = self._since.get(epoch)
        if cached is not None:
            return cached
        wires: list[bytes] = []
        rows = 0
        first = epoch + 1
        for at, wire, n in self._changes:
            if at >= first:
                wires.append(wire)
                rows += n
        complete = (epoch >= 0 and bool(self._changes) and self._changes[0][0] <= first
                    and len(wires) == self.epoch - epoch and rows <= len(self.rows))
        out = b"".join(wires) if complete else self.table_wire()
        self._since[epoch] = out
        return out


def apply(table: dict[str, PeerRow] | None,
          msg: dispatcher_pb2.SessionMessage) -> dict[str, PeerRow] | None:
    """The agent's table after `msg`: replaced by a whole table, then changed row by
    row; None while no whole table has come (changes need a base). Pure: `table` is
    changed in place and returned."""
    if msg.has_peers:
        table = {p.name: (p.address, p.subnet) for p in msg.peers}
    if table is None:
        return None
    for p in msg.peer_changes:
        if p.address:
            table[p.name] = (p.address, p.subnet)
        else:
            table.pop(p.name, None)
    return table


def peers_of(table: Mapping[str, PeerRow], *, skip: str = "") -> list[dispatcher_pb2.Peer]:
    """The table as Peer messages in name order, without the node `skip`. Pure."""
    return [_peer(n, r) for n, r in sorted(table.items()) if n != skip]


def _peer(name: str, row: PeerRow | None) -> dispatcher_pb2.Peer:
    address, subnet = row if row is not None else ("", "")
    return dispatcher_pb2.Peer(name=name, address=address, subnet=subnet)
