"""Shared timing helpers for the benchmark scripts.

Every benchmark separates two numbers:

- the *first call*: everything a user waits for the first time (sparsity detection,
  coloring, JIT compilation including Numba's, and the first evaluation), measured once;
- the *steady state*: the median over repeats of one evaluation after warm-up.

The machine the benchmarks run on is usually shared, so single timings are noisy.
Steady-state numbers are therefore medians of several repeats, and each repeat runs
the function often enough to last at least ``min_repeat_time`` seconds, so that timer
resolution and call overhead do not dominate sub-millisecond functions.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

__all__ = [
    "block",
    "timed",
    "steady_time",
    "first_and_steady",
    "interleaved_steady",
    "fmt_time",
    "fmt_ratio",
    "Progress",
    "markdown_table",
    "text_table",
]


def block(result: Any) -> Any:
    """Wait until an asynchronous result (JAX array, tuple of them) is computed.

    JAX dispatches work asynchronously, so a timer stopped right after the call
    would only measure the dispatch. Numpy and scipy results are returned unchanged.
    """
    if hasattr(result, "block_until_ready"):
        return result.block_until_ready()
    if isinstance(result, (tuple, list)):
        for r in result:
            block(r)
    return result


def pin_to_cpu(cpu: int | None) -> int | None:
    """Run this process (and the thread pools it starts later, XLA's included) on one CPU.

    The issue's peer figures are medians on one pinned core: there, XLA runs each
    executable on one thread and load on the other core matters less. Call it before
    JAX starts. Returns the CPU, or None when not pinned (``cpu`` None, or no
    ``sched_setaffinity`` on this platform).
    """
    if cpu is None:
        return None
    if not hasattr(os, "sched_setaffinity"):
        print("warning: this platform cannot pin a process to a CPU; running unpinned",
              file=sys.stderr)
        return None
    os.sched_setaffinity(0, {int(cpu)})
    return int(cpu)


def pinning_note(meta: dict[str, Any]) -> str:
    """``", pinned to CPU k"`` for a run made with ``--pin-cpu k``, else ``""``."""
    cpu = meta.get("pinned_cpu")
    return "" if cpu is None else f", pinned to CPU {cpu}"


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn(*args, **kwargs)`` once and return ``(result, seconds)``.

    The result is blocked on (see :func:`block`) before the clock stops.
    """
    t0 = time.perf_counter()
    result = block(fn(*args, **kwargs))
    return result, time.perf_counter() - t0


def steady_time(fn: Callable[[], Any], *, repeats: int = 7, min_repeat_time: float = 0.02,
                max_total_time: float = 3.0, warmup: bool = True) -> float:
    """Median seconds per call of ``fn()`` after warm-up.

    Parameters
    ----------
    fn : callable
        Zero-argument callable to time.
    repeats : int
        Number of repeats whose median is returned (at least 1).
    min_repeat_time : float
        Each repeat calls ``fn`` enough times to last about this long, so that
        sub-millisecond functions are timed over many calls.
    max_total_time : float
        Soft cap on the total time spent; fewer repeats are run for slow functions
        (but always at least one).
    warmup : bool
        Call ``fn`` once more before timing (skip it when the first call was just made;
        one untimed sizing call is always made).

    Returns
    -------
    float
        Median seconds per call.
    """
    if warmup:
        timed(fn)
    _, t_one = timed(fn)  # sizes the repeats (and warms up once more)
    t_one = max(t_one, 1e-7)
    number = max(1, int(math.ceil(min_repeat_time / t_one)))
    per_repeat = number * t_one
    repeats = max(1, min(repeats, int(max_total_time // max(per_repeat, 1e-9))))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            block(fn())
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def first_and_steady(fn: Callable[[], Any], **kwargs: Any) -> dict[str, Any]:
    """Time the first call of ``fn()`` and its steady state.

    Returns
    -------
    dict
        ``{"first": seconds of the first call, "steady": median seconds per call,
        "result": the first call's result}``. ``kwargs`` go to :func:`steady_time`.
    """
    result, first = timed(fn)
    steady = steady_time(fn, warmup=False, **kwargs)
    return {"first": first, "steady": steady, "result": result}


def interleaved_steady(fns: dict[Any, Callable[[], Any]], *, repeats: int = 7,
                       min_repeat_time: float = 0.02,
                       max_time_per_fn: float = 1.5) -> dict[Any, dict[str, float]]:
    """Steady-state times of several functions, measured in interleaved rounds.

    On a shared machine the load changes over seconds, so timing one method after
    another biases their ratio. Here every round times one repeat of each function (in
    a rotating order), so load changes hit all of them alike and the medians can be
    compared as ratios.

    Parameters
    ----------
    fns : dict
        Zero-argument callables to time, by key. Each has already been called once.
    repeats : int
        Rounds; each function gets at most this many samples.
    min_repeat_time : float
        Each sample calls the function enough times to last about this long.
    max_time_per_fn : float
        Soft cap on the time spent on one function: slow ones get fewer samples
        (at least one).

    Returns
    -------
    dict
        ``{key: {"median": seconds per call, "min": ..., "samples": count}}``.
    """
    plan = {}
    for key, fn in fns.items():
        block(fn())  # warm-up (caches, lazy compilation of a second code path)
        _, t_one = timed(fn)
        t_one = max(t_one, 1e-7)
        number = max(1, int(math.ceil(min_repeat_time / t_one)))
        rounds = max(1, min(repeats, int(max_time_per_fn // (number * t_one))))
        plan[key] = (number, rounds)
    samples: dict[Any, list[float]] = {key: [] for key in fns}
    keys = list(fns)
    for r in range(max(1, repeats)):
        shift = r % max(1, len(keys))
        for key in keys[shift:] + keys[:shift]:
            number, rounds = plan[key]
            if len(samples[key]) >= rounds:
                continue
            fn = fns[key]
            t0 = time.perf_counter()
            for _ in range(number):
                block(fn())
            samples[key].append((time.perf_counter() - t0) / number)
    return {key: {"median": statistics.median(v), "min": min(v), "samples": len(v)}
            for key, v in samples.items()}


def fmt_time(seconds: float | None) -> str:
    """Human-readable duration with three significant digits (``"1.23 ms"``)."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(value: float | None) -> str:
    """Ratio with two significant digits and an ``x`` (``"0.42x"``), ``"-"`` if missing."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2g}x"


@dataclass
class Progress:
    """One line per finished step on stderr, or a tqdm bar when tqdm is installed.

    Parameters
    ----------
    total : int
        Number of steps expected (only used for the counter and the bar).
    enabled : bool
        ``False`` silences everything (used by the tests).
    use_tqdm : bool or None
        ``None`` uses tqdm when it is importable and stderr is a terminal.
    """

    total: int
    enabled: bool = True
    use_tqdm: bool | None = None
    _done: int = 0
    _start: float = field(default_factory=time.perf_counter)
    _bar: Any = None

    def __post_init__(self) -> None:
        if not self.enabled:
            return
        if self.use_tqdm is None:
            self.use_tqdm = sys.stderr.isatty()
        if self.use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                self.use_tqdm = False
            else:
                self._bar = tqdm(total=self.total, file=sys.stderr, leave=False)

    def step(self, message: str) -> None:
        """Record one finished step with a short description of it."""
        self._done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_description(message[:60])
            self._bar.update(1)
            return
        elapsed = time.perf_counter() - self._start
        width = len(str(self.total))
        print(f"[{self._done:>{width}}/{self.total} {elapsed:6.1f}s] {message}",
              file=sys.stderr, flush=True)

    def note(self, message: str) -> None:
        """Print a line that is not a step (a skipped peer, a warning)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the bar, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def text_table(header: list[str], rows: Iterable[list[str]]) -> str:
    """Plain-text table with columns padded to their widest cell (first column left)."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    out = [line([str(h) for h in header]), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def markdown_table(header: list[str], rows: Iterable[list[str]]) -> str:
    """GitHub-flavoured markdown table (first column left-aligned, the rest right)."""
    rows = [list(map(str, r)) for r in rows]
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(out)


def record_method(key: str, run: Callable[[], dict[str, Any]], *, methods: dict[str, Any],
                  timers: dict[tuple[str, str], Callable[[], Any]], progress: "Progress",
                  label: str, error_of: Callable[[Any], float | None],
                  describe_failure: Callable[[BaseException], str],
                  summary: Callable[[dict[str, Any]], str]) -> None:
    """Run one benchmark method; keep its numbers, timers and error, or why it failed.

    Parameters
    ----------
    key : str
        Method key in ``methods``.
    run : callable
        Returns a JSON-ready dict; its optional ``"result"`` (the matrix, checked with
        ``error_of``) and ``"timers"`` (``{field: zero-argument callable}``, timed later
        in interleaved rounds) entries are taken out of it.
    methods, timers : dict
        Filled in place: ``methods[key]`` and ``timers[(key, field)]``.
    progress : Progress
        Receives one line: ``label`` plus ``summary(result)`` or the failure reason.
    label : str
        Case and method, as printed.
    error_of : callable
        Relative error of the method's matrix against the reference.
    describe_failure : callable
        One-line reason for an exception.
    summary : callable
        Tail of the progress line for a method that ran.
    """
    try:
        res = run()
    except Exception as exc:  # noqa: BLE001 - every failure becomes one honest line
        methods[key] = {"available": False, "reason": describe_failure(exc)}
        progress.step(f"{label}: not available: {methods[key]['reason']}")
        return
    result = res.pop("result", None)
    for field_name, timer in res.pop("timers", {}).items():
        timers[(key, field_name)] = timer
    res["available"] = True
    if result is not None:
        try:
            res["rel_error"] = error_of(result)
        except Exception as exc:  # noqa: BLE001 - a failed check is reported, not fatal
            res["rel_error"] = None
            res["note"] = (res.get("note", "") + f" error check failed: {exc}").strip()
    methods[key] = res
    progress.step(f"{label}: {summary(res)}")


def target_lines(targets: list[dict]) -> list[str]:
    """Markdown bullets ``- met: target (measured)`` of a benchmark's targets."""
    marks = {True: "met", False: "**missed**", None: "n/a"}
    return [f"- {marks[t['met']]}: {t['target']} ({t['measured']})" for t in targets]


def replace_readme_section(path, start: str, end: str, section: str) -> None:
    """Rewrite the file at ``path`` with ``section`` in place of the text from the
    ``start`` marker through the ``end`` marker (a generated README section)."""
    text = path.read_text()
    a, b = text.index(start), text.index(end) + len(end)
    path.write_text(text[:a] + section + text[b:])
