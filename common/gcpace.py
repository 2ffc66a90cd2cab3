"""The garbage collector's pace for the long-running processes: server, agent, hollow nodes.

Python's cyclic collector looks at the young objects every 700 allocations (net of
frees), at the middle generation every tenth time, and at everything alive now and
then. While a thousand nodes join, both sides allocate steadily (gRPC's calls, protobuf
messages, sessions) and keep much of it, so the collector ran about 570 times in the
server and about 220 times in each hollow process (100 nodes) over one join, each pass
over everything a process had kept: about a tenth of the CPU of either (py-spy and
perf showed `gc_collect_main`; `gc.callbacks` timed it). Most of what a process holds
is what it imported and set up before its first call, and none of that becomes
garbage.

`settle` is called once, before the event loop runs (in the agent, before it imports
its container engine's driver, so less is frozen there): what is
alive then is collected once and frozen (never looked at again), and the young
generation is collected every YOUNG_EVERY allocations. Cycles still get collected,
later: at most a few tens of thousands of young objects wait, a few megabytes.
"""

from __future__ import annotations

import gc

# Allocations (net of frees) between two collections of the young generation.
YOUNG_EVERY = 20_000
# The older generations keep Python's ratios: one pass over each per ten of the younger.
OLDER_EVERY = 10


def settle() -> None:
    """Collect once, freeze what is alive (imports, setup), and collect the young
    generation every YOUNG_EVERY allocations from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_EVERY, OLDER_EVERY, OLDER_EVERY)
