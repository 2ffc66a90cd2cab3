"""The rules every app must keep: name grammar, ranges and limits, in one place. Pure.

Why: an app reaches the server either from the CLI's Compose loader or from any gRPC
client. Both sides check it, and they must agree to the character, so the grammar and
the numbers live here and nowhere else: the loader (``dockyard.client.compose``) and the
server's admission (``dockyard.common.spec.admissible``, called by the Control API) read
them, and so does the dispatcher for node names (``dns_label_problem``).

The limits follow from etcd and gRPC, and docs/limits.md explains each one:
- an apply is one etcd transaction (all or nothing), and etcd refuses a transaction of
  more than 128 operations (``--max-txn-ops``) or 1.5 MiB (``--max-request-bytes``);
  the services-per-app and app-size limits keep every apply inside both;
- gRPC messages are capped explicitly on both ends (``MAX_REQUEST_BYTES``,
  ``MAX_RESPONSE_BYTES``) so that the cap is ours, stated, and the same everywhere;
- replicas are bounded per service and per cluster so that no request can make the
  leader hold more tasks than it can reconcile in bounded rounds.

Every ``*_problem`` function returns None when the value is fine, else one line that
says what is wrong; callers add where (the service, the key). The name checks' lines
read after the name ("is empty", "must be ..."). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB

# Names. App and service names become etcd key segments, container names and DNS
# names on the app network: lowercase letters, digits, '-' and '_', starting with a
# letter or digit, at most 63 characters (one DNS label). No '/', '.', NUL or newline.
MAX_NAME_LENGTH = 63
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
# Node names are host names: a strict DNS label (RFC 1123), at most 63 characters.
DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Secrets, configs, volumes and networks: Compose's wider grammar, still one path
# segment (no '/'), never starting with '.', so never "." or "..".
OBJECT_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
MAX_OBJECT_NAME_LENGTH = 128

# Ranges.
PORT_MIN, PORT_MAX = 1, 65535
PROTOCOLS = ("tcp", "udp")
MAX_CPU_MILLIS = 1_000_000  # 1,000 cores
MAX_MEMORY_BYTES = 1024**5  # 1 PiB
MAX_DURATION_MS = 366 * 24 * 3600 * 1000  # a year: longer is a typo
MAX_STRING_LENGTH = 4096  # one image reference, user, path, label value, ...
MAX_LIST_LENGTH = 1000  # volumes, environment entries, labels, ... per service
MAX_PORTS = 2 * 65535  # one per port number and protocol (a range is many ports)

# Rolling updates (`deploy.update_config`, `deploy.rollback_config`).
UPDATE_ORDERS = ("stop-first", "start-first")
FAILURE_ACTIONS = ("pause", "continue", "rollback")

# The transport. Requests above MAX_REQUEST_BYTES are refused by gRPC itself; the CLI
# checks first and says so in Dockyard's words.
MAX_REQUEST_BYTES = 4 * MIB
MAX_RESPONSE_BYTES = 64 * MIB

# etcd's defaults, which bound one transaction (an apply).
ETCD_MAX_TXN_OPS = 128
ETCD_MAX_REQUEST_BYTES = 1536 * KIB

# How many new tasks the leader creates in one reconcile round; the rest wait for the
# next rounds, so no request makes one round (and its commits) grow without bound. Each
# round re-reads every task and node, so a smaller number costs throughput. And a node
# hears of its tasks per round: at 5,000, 10,000 replicas on 1,000 nodes came in two
# rounds, each node got two session messages, started two batches of containers and
# reported two status calls, and the second round waited for the first one's commits
# and rest. At 10,000 they come in one round.
TASKS_CREATED_PER_ROUND = 10_000

# The highest --max-replicas-per-service a server accepts; the Compose loader refuses
# more than this, and the server refuses more than its configured limit.
REPLICAS_CEILING = 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """What one app, and the whole cluster, may ask for. The server's flags set the first
    two; the rest follow from etcd's transaction limits and are fixed."""

    replicas_per_service: int = 10_000
    replicas_per_cluster: int = 100_000
    # An apply writes the app, each changed service, one event and the new kept version
    # (and drops the oldest kept one) in one transaction, and deletes removed services
    # in it: 100 + 4 stays under 128 unless most services are replaced at once
    # (admission counts the exact operations: apply_txn_problem).
    services_per_app: int = 100
    # The App object carries the whole spec, each service its own part again and the
    # spec it had before (what a failed update rolls back to), and the kept version the
    # spec once more: four times 352 KiB, with the keys, stays under etcd's 1.5 MiB.
    app_bytes: int = 352 * KIB
    # One secret or config. Each is stored under its own key, never inside the app, and
    # written in the apply's transaction (apply_txn_problem counts it).
    file_bytes: int = 500 * KIB
    # One service's spec: each of its tasks carries a copy.
    service_bytes: int = 64 * KIB


DEFAULT_LIMITS = Limits()
# The Compose loader cannot know the server's flags: it refuses only what no server
# accepts, and the server then holds the app to its own configured limits. Sizes are
# left to the server too (up to what a request can carry), so `dockyard config` shows
# any file the loader can read.
LOADER_LIMITS = Limits(replicas_per_service=REPLICAS_CEILING,
                       replicas_per_cluster=REPLICAS_CEILING,
                       app_bytes=MAX_REQUEST_BYTES, file_bytes=MAX_REQUEST_BYTES,
                       service_bytes=MAX_REQUEST_BYTES)


def _grammar_problem(name: str, pattern: re.Pattern[str], longest: int, rule: str) -> str | None:
    if not name:
        return "is empty"
    if len(name) > longest:
        return f"is longer than {longest} characters"
    return None if pattern.fullmatch(name) else rule


def name_problem(name: str) -> str | None:
    """Why `name` is not a valid app or service name, or None."""
    return _grammar_problem(name, NAME, MAX_NAME_LENGTH, "must be lowercase letters, digits, "
                            "'-' and '_', starting with a letter or digit")


def dns_label_problem(name: str) -> str | None:
    """Why `name` is not a DNS label (a node name), or None."""
    return _grammar_problem(name, DNS_LABEL, MAX_NAME_LENGTH, "must be lowercase letters, "
                            "digits and '-', starting and ending with a letter or digit")


def object_name_problem(name: str) -> str | None:
    """Why `name` is not a valid secret, config, volume or network name, or None."""
    return _grammar_problem(name, OBJECT_NAME, MAX_OBJECT_NAME_LENGTH, "must be letters, "
                            "digits, '_', '.' and '-', starting with a letter or digit")


def port_problem(port: int) -> str | None:
    if not PORT_MIN <= port <= PORT_MAX:
        return f"port {port} is not in {PORT_MIN}-{PORT_MAX}"
    return None


def replicas_problem(replicas: int, limits: Limits = DEFAULT_LIMITS) -> str | None:
    if replicas < 0:
        return f"replicas must not be negative, got {replicas}"
    if replicas > limits.replicas_per_service:
        return (f"replicas {replicas} is more than the limit of "
                f"{limits.replicas_per_service:,} per service")
    return None


def size_problem(size: int, limit: int, *, what: str) -> str | None:
    """`what` is e.g. "the app" or 'secret "key"'."""
    if size > limit:
        return f"{what} is {format_size(size)}; the limit is {format_size(limit)}"
    return None


def format_size(n: int) -> str:
    """Bytes for an error message (1.5 MiB, 640 KiB, 12 B): the scheduler's wording, so
    every message about sizes reads the same. Imported here, not at the top: the
    scheduler package brings numpy, which no CLI command should pay for at start."""
    from dockyard.scheduler.explain import format_bytes

    return format_bytes(n)
