"""`make bench-scale`'s sizes, its BENCH_SCALE_* knobs, and its progress lines."""

from __future__ import annotations

import io

import pytest

from dockyard.deploy.bench.scale import SIZES, chosen_size
from dockyard.deploy.bench.scale_probe import Waited
from dockyard.deploy.bench.scale_progress import Progress, waited_text


def test_the_default_is_the_small_size() -> None:
    assert chosen_size({}) == ("small", SIZES["small"])
    assert chosen_size({"BENCH_SCALE": ""}) == ("small", SIZES["small"])


def test_knobs_change_only_what_they_name() -> None:
    name, size = chosen_size({"BENCH_SCALE": "tiny", "BENCH_SCALE_NODES": "40",
                              "BENCH_SCALE_REPLICAS": "400", "BENCH_SCALE_TIMEOUT": "90.5"})
    assert name == "tiny"
    assert (size.nodes, size.replicas, size.timeout_s) == (40, 400, 90.5)
    assert (size.apps, size.services, size.base_replicas) == (2, 3, 100)


@pytest.mark.parametrize(("env", "says"), [
    ({"BENCH_SCALE": "huge"}, "BENCH_SCALE must be one of small, full, tiny, not 'huge'"),
    ({"BENCH_SCALE_NODES": "ten"}, "BENCH_SCALE_NODES must be a number, not 'ten'"),
    ({"BENCH_SCALE_APPS": "0"}, "BENCH_SCALE_APPS must be positive, not '0'"),
    ({"BENCH_SCALE_NODES": "10"}, "BENCH_SCALE_NODES must be at least 11"),
    ({"BENCH_SCALE_TIMEOUT": "soon"}, "BENCH_SCALE_TIMEOUT must be a number"),
])
def test_a_bad_knob_is_one_line(env: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match="^" + says.replace("(", r"\(")) as err:
        chosen_size(env)
    assert "\n" not in str(err.value)


def test_waited_text_says_how_far_a_phase_got() -> None:
    assert waited_text(Waited(True, 5.312, 90), 90, "nodes ready") == "90/90 nodes ready in 5.31 s"
    assert waited_text(Waited(False, 60.04, 45), 90, "nodes ready") == (
        "NOT DONE: 45/90 nodes ready after 60.0 s")


def test_progress_lines_carry_the_time_since_the_start() -> None:
    now = [100.0]
    out = io.StringIO()
    say = Progress(out, clock=lambda: now[0])
    now[0] = 112.34
    say.line("join of 90", "90/90 nodes ready in 5.31 s")
    now[0] = 140.0
    say.ticker("apply", 1000, "running")(450, 30.2)
    assert out.getvalue().splitlines() == [
        "[   12.3 s] join of 90: 90/90 nodes ready in 5.31 s",
        "[   40.0 s] apply: waiting: 450/1000 running after 30 s"]


def test_a_long_wait_says_how_far_it_is() -> None:
    from dockyard.deploy.bench.scale_probe import poll

    seen: list[int] = []
    count = iter(range(1000))
    w = poll(lambda: next(count), 10**6, timeout_s=0.3, every_s=0.01,
             tick=lambda last, _s: seen.append(last), tick_s=0.1)
    assert not w.ok
    assert 1 <= len(seen) <= 4 and seen == sorted(seen)
