"""Rounds over apps whose only news is task statuses: their services' counts. Pure.

While a service of ten thousand replicas starts, its agents report in batches, a batch
every few tens of milliseconds, and each batch names the app. A full round of that app
reads every one of its tasks (slot, node, spec, update, placement, volumes): about
0.1 s of CPU, in the worker thread but holding the interpreter's lock against the
sessions and status calls it waits for. Yet when the app is otherwise at rest, a status
can change nothing a round decides but the counts each service shows (running,
healthy): no task to create, remove or place, no gate to open, no update to judge.

At rest means: the app exists and has no task waiting for a node; no service of it has
dependencies, volumes, or an update (or rollback) in progress, or waits on anything;
and every task of it is desired running, on a node neither down nor drained, of its
service's current spec, one per slot, as many as the replicas. Such an app gets its
counts here, read in one pass over its tasks; any other app named gets a full round
(the leader adds it to the round's apps), so the decision is the full round's either way.
"""

from __future__ import annotations

from collections.abc import Collection

from dockyard.controlplane.reconcile import updates
from dockyard.controlplane.reconcile.decision import Decision
from dockyard.controlplane.reconcile.gates import observe
from dockyard.controlplane.reconcile.tasks import service_with
from dockyard.controlplane.view import ClusterView, Touched
from dockyard.v1 import objects_pb2

# A round for task statuses alone only updates the counts services show: after one,
# the next waits QUIET_RATIO times as long as it computed, at most QUIET_EVERY_S, unless
# other news comes. Cheap rounds that ran as often as statuses came (every few tens of
# milliseconds while ten thousand tasks start) took as much of the interpreter as the
# full rounds they replaced; a fixed 0.25 s made the last count of a small app late by
# as much, where its round costs a few milliseconds.
QUIET_EVERY_S = 0.25
QUIET_RATIO = 10.0


def wakes_leader(touched: Touched, *, reloaded: bool) -> bool:
    """Whether a batch of changes may give the leader's next round anything to decide:
    anything but unreachable marks that change no node. A new mark only keeps new tasks
    off its node, and whatever would place new tasks is news of its own (an app, a
    service, a task, a node); a node that loses a mark that counted is a node change
    (`Touched.node_objects`), news for its tasks' apps and the apps waiting for room.
    During a failover marks come in a batch every few tens of milliseconds, and each
    used to wake a round that copied the whole view to plan nothing. Pure."""
    return reloaded or bool(touched.kinds - {"unreachable"}) or bool(touched.node_objects)


def quiet_pause_s(round_s: float) -> float:
    """How long after a round that computed `round_s` a round for statuses alone may
    start: QUIET_RATIO times as long, so such rounds take at most about a tenth of the
    interpreter, and never more than QUIET_EVERY_S. Pure."""
    return min(QUIET_EVERY_S, QUIET_RATIO * max(0.0, round_s))


def count_statuses(view: ClusterView, apps: Collection[str], *, settled: Collection[str],
                   decision: Decision) -> set[str]:
    """Add to `decision` the services of `apps` whose counts changed, for the apps at rest
    (module docstring); return the others, which need a full round. `settled` holds the
    nodes neither down nor drained, as this round sees them. Pure."""
    full: set[str] = set()
    for app in apps:
        changed = _counts(view, app, settled=settled)
        if changed is None:
            full.add(app)
        else:
            decision.update_services.extend(changed)
    return full


def _counts(view: ClusterView, app: str, *, settled: Collection[str]
            ) -> list[objects_pb2.Service] | None:
    """The changed services of `app` at rest, or None when it is not at rest."""
    if app not in view.apps:
        return None
    names = view.service_names.get(app, set())
    services = {name: view.services[f"{app}/{name}"] for name in names
                if f"{app}/{name}" in view.services}
    if len(services) != len(names):
        return None
    for svc in services.values():
        if (svc.spec.depends_on or svc.spec.volumes or svc.status.waiting_on
                or svc.update.state in updates.RUNNING_STATES):
            return None
    statuses: dict[str, list[objects_pb2.TaskStatus]] = {name: [] for name in services}
    slots: dict[str, set[int]] = {name: set() for name in services}
    for t in view.by_app.get(app, {}).values():
        own = services.get(t.service)
        if (own is None or t.desired_state != objects_pb2.DESIRED_RUNNING
                or t.node not in settled or t.spec_hash != own.spec_hash):
            return None
        statuses[t.service].append(view.status_of(t.meta.id))
        slots[t.service].add(t.slot)
    out = []
    for name, svc in services.items():
        if not len(slots[name]) == len(statuses[name]) == svc.spec.replicas:
            return None  # a slot to fill, a duplicate or one too many: a full round's work
        # No update runs and no slot is outdated: the update's state stays as it is.
        changed = service_with(svc, observe(svc.spec, statuses[name]), waiting=None,
                               update=svc.update)
        if changed is not None:
            out.append(changed)
    return out


class RestingApps:
    """The apps the leader's last round of each found at rest, kept between rounds: only
    their statuses may wait for a cheap round (the leader's pause); anything else is
    news, for a round at once. Pure bookkeeping, no I/O.

    An app leaves the set as soon as anything but a status changes in it (its app,
    services, tasks or volumes: `Touched.structure`), whether between rounds or during
    one (a round's verdict was taken from a snapshot before that change). A service
    write of its counts alone, the leader's own, is no news at all."""

    def __init__(self) -> None:
        self.apps: set[str] = set()
        self._complete: set[str] = set()  # apps whose tasks all ran, last we heard

    def news(self, touched: Touched, *, reloaded: bool,
             echo: Collection[str] = (), complete: Collection[str] = ()) -> bool:
        """Take in one batch of changes; True when it is news: a reload, a node, a change
        other than a status, a status of an app not at rest, or the status that makes
        an app's tasks all run (`complete`: those of `touched.statuses` whose tasks all
        report RUNNING now). That last is what a user waits for, `apply --wait` among
        them: its count goes out at once rather than after the pause, once per time
        the app comes to run whole, not for every later status of it. `echo`: the apps
        of `touched.structure` whose only change is the leader's own lost-round task
        writes; like a status, news only for an app not at rest."""
        echoes = set(echo)
        structure = touched.structure - echoes
        self.apps -= structure
        if reloaded:
            self.apps.clear()
        done = set(complete)
        completed = done - self._complete
        self._complete = (self._complete - touched.statuses - touched.structure) | done
        return bool(reloaded or structure or touched.node_objects or completed
                    or not (touched.statuses | echoes) <= self.apps)

    def after_round(self, *, apps: Collection[str] | None, quiet: Collection[str],
                    found: Collection[str], changed_since: Collection[str]) -> None:
        """A round of `apps` (None: everything) and `quiet` ended, finding `found` at
        rest; `changed_since` are the apps whose structure changed while it ran. A round
        of everything finds no app at rest (it takes no quiet way)."""
        kept = set() if apps is None else self.apps - set(apps) - set(quiet)
        self.apps = (kept | set(found)) - set(changed_since)
