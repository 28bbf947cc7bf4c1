"""The shared timing helpers: medians, formatting, progress lines and tables.

The timing loops run against a fake clock (:class:`FakeClock`): a timed function
advances it by an exact duration instead of sleeping, so call counts, samples and medians
are the same on every machine, however loaded.
"""
import io
import math
from contextlib import redirect_stderr

import pytest

from benchmarks import _timing

MS = 2.0 ** -10  # about a millisecond, exact in binary: sums of it stay exact


class FakeClock:
    """Stands in for the ``time`` module inside ``benchmarks._timing``."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_timing, "time", fake)
    return fake


def test_timed_returns_result_and_positive_duration():
    result, seconds = _timing.timed(lambda a, b=0: a + b, 2, b=3)
    assert result == 5
    assert seconds >= 0


def test_block_waits_on_nested_results():
    class Lazy:
        blocked = False

        def block_until_ready(self):
            self.blocked = True
            return self

    a, b = Lazy(), Lazy()
    _timing.block((a, [b, 1]))
    assert a.blocked and b.blocked


def test_steady_time_is_median_of_repeats_and_calls_enough_times(clock):
    calls = []

    def fn():
        calls.append(1)
        clock.sleep(MS)

    t = _timing.steady_time(fn, repeats=3, min_repeat_time=5 * MS, max_total_time=1.0)
    assert t == MS
    assert len(calls) == 1 + 1 + 3 * 5  # warm-up, sizing call, 3 repeats of 5 calls


def test_steady_time_respects_total_budget_with_at_least_one_repeat(clock):
    calls = []

    def slow():
        calls.append(1)
        clock.sleep(20 * MS)

    _timing.steady_time(slow, repeats=50, min_repeat_time=MS, max_total_time=10 * MS,
                        warmup=False)
    assert len(calls) == 2  # sizing call + one repeat, never 50


def test_first_and_steady_reports_both():
    out = _timing.first_and_steady(lambda: 7, repeats=2, max_total_time=0.05)
    assert out["result"] == 7 and out["first"] >= 0 and out["steady"] >= 0


@pytest.mark.parametrize("seconds, text", [(1.5, "1.5 s"), (0.00123, "1.23 ms"),
                                           (2.5e-5, "25 us"), (3e-9, "3 ns"),
                                           (None, "-"), (math.nan, "-")])
def test_fmt_time(seconds, text):
    assert _timing.fmt_time(seconds) == text


def test_fmt_ratio():
    assert _timing.fmt_ratio(0.4234) == "0.42x"
    assert _timing.fmt_ratio(None) == "-"
    assert _timing.fmt_ratio(math.inf) == "-"


def test_progress_prints_one_line_per_step_and_can_be_silenced():
    buf = io.StringIO()
    with redirect_stderr(buf):
        p = _timing.Progress(total=2, use_tqdm=False)
        p.step("first")
        p.note("a note")
        p.step("second")
        p.close()
        q = _timing.Progress(total=1, enabled=False)
        q.step("hidden")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[1/2") and lines[0].endswith("first")
    assert lines[2].startswith("[2/2") and "hidden" not in buf.getvalue()


def test_tables_align_and_render_markdown():
    header = ["method", "time"]
    rows = [["a", "1 ms"], ["longer name", "10 ms"]]
    text = _timing.text_table(header, rows).splitlines()
    assert len({len(line) for line in text}) == 1  # all lines padded to the same width
    md = _timing.markdown_table(header, rows).splitlines()
    assert md[0] == "| method | time |" and md[1] == "|:---|---:|"
    assert md[3] == "| longer name | 10 ms |"


def test_interleaved_steady_times_every_function_in_rounds(clock):
    order = []

    def make(name, delay):
        def fn():
            order.append(name)
            clock.sleep(delay)
        return fn

    out = _timing.interleaved_steady({"fast": make("fast", MS / 2), "slow": make("slow", 4 * MS)},
                                     repeats=3, min_repeat_time=MS, max_time_per_fn=1.0)
    assert set(out) == {"fast", "slow"}
    assert out["fast"]["median"] == MS / 2 and out["slow"]["median"] == 4 * MS
    assert out["fast"]["samples"] == out["slow"]["samples"] == 3
    assert out["slow"]["min"] <= out["slow"]["median"]
    # after the two sizing calls each, rounds alternate (in a rotating order): a sample of
    # "fast" is 2 calls, one of "slow" 1 call
    assert order[4:] == ["fast", "fast", "slow", "slow", "fast", "fast", "fast", "fast", "slow"]


def test_interleaved_steady_gives_slow_functions_fewer_samples(clock):
    out = _timing.interleaved_steady({"slow": lambda: clock.sleep(20 * MS)}, repeats=5,
                                     max_time_per_fn=30 * MS)
    assert out["slow"]["samples"] == 1
