"""Scale benchmark: the 2D Brusselator from N = 256 to N = 2236 (n = 10^7 unknowns).

``python -m benchmarks.scale`` runs every N in its own process (so that one size's
memory does not count against the next) and records, per stage of the default
pipeline ``sparsead.prepare_jacobian(f, x)`` followed by ``J(x)``:

- the time of each stage (compile = the backend's preparation, detect, color, plan),
  taken from the stage reports on the ``sparsead`` logger, and of the first and the
  steady ``J(x)``, against the time of one ``f(x)`` (medians of interleaved repeats of
  ``f(x)``, ``J(x)`` and ``J(x, out=M)``, with the page faults of each);
- the Jacobian's own work: ``J(x, out=M)`` less the CPU time spent inside its calls of f
  (perturbed points, differences, gather);
- the peak resident memory during each stage above the process's memory once ``f``,
  ``x`` and one ``f(x)`` exist (so f's own allocations are not counted), sampled every
  few milliseconds from ``/proc/self/statm``, and per Jacobian nonzero.

It then fits the growth exponent of every stage against nnz (least squares on the
log-log points), sweeps the coloring budget (colors against coloring time) at one N,
times the fd backend with a process pool and a dask cluster on an f that sleeps,
(``--tuned-malloc``) runs every N again with glibc's malloc keeping large blocks, and
writes ``docs/scale.json``, ``docs/scale.png`` and (``--update-readme``) the README's
scale section.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks import problems
from benchmarks._timing import (
    fmt_time,
    markdown_table,
    replace_readme_section,
    target_lines,
    text_table,
)

SIZES = (256, 512, 1024, 1448, 2236)
QUICK_SIZES = (64, 128)
TRADEOFF_N = 1024
STAGES = ("compile", "detect", "color", "plan", "first_eval")
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
README_PATH = DOCS_DIR.parent / "README.md"
README_START, README_END = "<!-- scale:start -->", "<!-- scale:end -->"
#: Targets of the issue this benchmark checks.
MAX_EXPONENT = 1.15
MAX_BYTES_PER_NNZ = 100.0
MAX_PREPARE_SECONDS = 30.0
MAX_F_EVALS = 12.0
#: Series of :func:`growth_exponents` that are references, not stages with a target.
REFERENCE_SERIES = ("f(x) itself", "J(x) / f(x)", "copy nnz doubles")


def rss_bytes() -> int:
    """Resident memory of this process (Linux ``/proc``; else the peak so far)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource  # noqa: PLC0415  (fallback where /proc is missing)

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakSampler:
    """Highest resident memory since the last :meth:`reset`, sampled in a thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = rss_bytes()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            value = rss_bytes()
            with self._lock:
                self.peak = max(self.peak, value)

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> int:
        """Peak since the last reset (including now); starts a new interval."""
        now = rss_bytes()
        with self._lock:
            peak, self.peak = max(self.peak, now), now
        return peak


class StageRecorder(logging.Handler):
    """Collects the stage durations and per-stage memory peaks from sparsead's log."""

    PATTERN = re.compile(r": (\w+)(?: \(.*\))? (\.\.\.|done in ([0-9.]+) s)$")

    def __init__(self, sampler: PeakSampler, base: int) -> None:
        super().__init__(logging.INFO)
        self.sampler, self.base = sampler, base
        self.times: dict[str, float] = {}  # CPU seconds of this process
        self.wall: dict[str, float] = {}
        self.peaks: dict[str, int] = {}
        self._cpu_start = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        match = self.PATTERN.search(record.getMessage())
        if match is None:
            return
        stage, _, seconds = match.groups()
        if seconds is None:
            self.sampler.reset()
            self._cpu_start = time.process_time()
        else:
            self.times[stage] = time.process_time() - self._cpu_start
            self.wall[stage] = float(seconds)
            self.peaks[stage] = self.sampler.reset() - self.base


def median_time(fn: Callable[[], Any], repeats: int,
                clock: Callable[[], float] = time.process_time) -> float:
    """Median seconds of ``fn()``; CPU time of this process by default: on a shared
    machine wall time counts the other processes' time slices too, the more so the
    longer the call, which would bias the ratio of a long J(x) to a short f(x)."""
    samples = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return statistics.median(samples)


def cpu_and_faults(fn: Callable[[], Any]) -> tuple[float, int]:
    """CPU seconds and minor page faults (memory the kernel maps in and zeroes) of
    ``fn()``."""
    import resource  # noqa: PLC0415  (Unix only)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    c0 = time.process_time()
    fn()
    cpu = time.process_time() - c0
    return cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def copy_reference(nnz: int, repeats: int) -> float:
    """Median CPU time of copying ``nnz`` doubles between two existing arrays: the
    machine's memory hierarchy alone (caches, then main memory), as a reference for
    the growth of the stages, which all stream O(nnz) data."""
    src = np.ones(nnz)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return median_time(lambda: np.copyto(dst, src), repeats)


class CountingF:
    """``f`` that adds up the CPU time spent inside it, so that a Jacobian's own work
    (perturbed points, differences, gather) can be told from its evaluations of f."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f, self.cpu = f, 0.0

    def __call__(self, x: Any, *args: Any) -> Any:
        c0 = time.process_time()
        try:
            return self.f(x, *args)
        finally:
            self.cpu += time.process_time() - c0


def measure_size(N: int, backend: str = "fd", repeats: int = 3) -> dict[str, Any]:
    """One N in this process: stage times and memory of prepare + J(x) (see module doc)."""
    import sparsead  # noqa: PLC0415  (imported after the sampler starts)

    sampler = PeakSampler()
    try:
        return _measure(N, backend, repeats, sampler, sparsead)
    finally:
        sampler.stop()


def _measure(N: int, backend: str, repeats: int, sampler: PeakSampler,
             sparsead: Any) -> dict[str, Any]:
    # warm-up on a tiny problem: Numba's cached kernels are loaded, not timed below
    sparsead.prepare_jacobian(problems.make_brusselator_numpy(8),
                              problems.brusselator_initial(8))(problems.brusselator_initial(8))
    f = _function(backend, N)
    counting = CountingF(f) if backend == "fd" else None
    x = problems.brusselator_initial(N)
    f(x)
    t_f_before = median_time(lambda: np.asarray(f(x)), max(3, repeats))
    t_copy = copy_reference(int(problems.brusselator_sparsity(N).nnz), max(3, repeats))
    base = rss_bytes()
    sampler.reset()
    recorder = StageRecorder(sampler, base)
    logger = logging.getLogger("sparsead")
    logger.addHandler(recorder)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        t0 = time.perf_counter()
        J = sparsead.prepare_jacobian(counting or f, x, backend=backend,
                                      sparsity_from=problems.make_brusselator_numpy(N))
        t_prepare = time.perf_counter() - t0
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(old_level)
    t0, c0 = time.perf_counter(), time.process_time()
    M = J(x)
    recorder.times["first_eval"] = time.process_time() - c0
    recorder.wall["first_eval"] = time.perf_counter() - t0
    recorder.peaks["first_eval"] = sampler.reset() - base
    # f alone, J(x) and J(x, out=M) interleaved, in the same process state: the ratio
    # compares like with like (f alone before preparation is kept as f_before_prepare)
    samples: dict[str, list[tuple[float, int]]] = {"f": [], "J": [], "out": []}
    own = []  # J(x, out=M) less the CPU time of its calls of f
    for _ in range(max(3, repeats)):
        samples["f"].append(cpu_and_faults(lambda: np.asarray(f(x))))
        samples["J"].append(cpu_and_faults(lambda: J(x)))
        inside = counting.cpu if counting else 0.0
        samples["out"].append(cpu_and_faults(lambda M=M: J(x, out=M)))
        if counting:
            own.append(samples["out"][-1][0] - (counting.cpu - inside))
    del M
    t_f, t_steady, t_out = (statistics.median(t for t, _ in samples[k])
                            for k in ("f", "J", "out"))
    f_faults, J_faults = (int(statistics.median(n for _, n in samples[k]))
                          for k in ("f", "out"))
    t_steady_wall = median_time(lambda: J(x), 1, time.perf_counter)
    peak_steady = sampler.reset() - base
    nnz = int(J.nnz)
    peak = max(max(recorder.peaks.values()), peak_steady)
    return {"N": N, "n": int(x.size), "nnz": nnz, "backend": backend,
            "colors": int(J.ncolors), "f": t_f, "f_before_prepare": t_f_before,
            "prepare_wall": t_prepare,
            "stages": recorder.times, "stages_wall": recorder.wall,
            "stage_peak_bytes": recorder.peaks, "steady": t_steady,
            "steady_wall": t_steady_wall, "steady_out": t_out, "f_evals_out": t_out / t_f,
            "f_evals": t_steady / t_f, "copy_nnz": t_copy, "f_minflt": f_faults,
            "J_out_minflt": J_faults, "own_work": statistics.median(own) if own else None,
            "peak_bytes": peak,
            "bytes_per_nnz": peak / nnz, "loadavg": os.getloadavg()[0]}


def _function(backend: str, N: int) -> Callable[[Any], Any]:
    if backend == "jax":
        import jax  # noqa: PLC0415  (optional)

        jax.config.update("jax_enable_x64", True)
        return problems.make_brusselator_jax(N)
    return problems.make_brusselator_numpy(N)


def coloring_tradeoff(N: int) -> list[dict[str, Any]]:
    """Colors and coloring time for improvement budgets from none to generous."""
    import scipy.sparse as sp  # noqa: PLC0415

    import sparsead  # noqa: PLC0415
    from sparsead._choose_coloring import choose_jacobian_coloring  # noqa: PLC0415
    from sparsead.backends import get_backend  # noqa: PLC0415

    P = sp.csr_array(problems.brusselator_sparsity(N))
    sparsead.jacobian(problems.make_brusselator_numpy(8), problems.brusselator_initial(8))
    rows = []
    for label, opts in (("no improvement", {"improve": 0}),
                        ("effort 0.25", {"effort": 0.25}),
                        ("effort 1 (default)", None),
                        ("effort 4", {"effort": 4.0}),
                        ("effort 16", {"effort": 16.0})):
        t0, c0 = time.perf_counter(), time.process_time()
        result = choose_jacobian_coloring(P, opts, get_backend("fd"), "auto").coloring
        rows.append({"budget": label, "colors": int(result.ncolors),
                     "time": time.process_time() - c0, "wall": time.perf_counter() - t0,
                     "order": str(result.order)})
    return rows


def _sleepy_f(x):
    """A 'simulator': 0.2 s per evaluation, tridiagonal Jacobian."""
    time.sleep(0.2)
    y = np.sin(x) * x
    y[1:] += x[:-1] ** 2
    return y


def executor_speedup(workers: int = 2) -> dict[str, Any]:
    """fd Jacobian of an f that sleeps 0.2 s: serial, process pool, dask LocalCluster."""
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    import sparsead  # noqa: PLC0415
    from sparsead.backends import FiniteDifferences  # noqa: PLC0415

    x = np.linspace(0.5, 1.5, 40)
    P = np.eye(40, dtype=bool) | np.eye(40, k=-1, dtype=bool)
    out: dict[str, Any] = {"f_seconds": 0.2, "workers": workers}

    def run(executor: Any) -> float:
        J = sparsead.prepare_jacobian(_sleepy_f, x, sparsity=P,
                                      backend=FiniteDifferences(executor=executor))
        out["colors"] = int(J.ncolors)
        J(x)
        return median_time(lambda: J(x), 3, time.perf_counter)  # wall: workers elsewhere

    out["serial"] = run(None)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        out["process_pool"] = run(pool)
    try:
        import distributed  # noqa: PLC0415  (optional)
    except ImportError:
        out["dask"] = None
    else:
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                      dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client:
                out["dask"] = run(client.get_executor())
    return out


#: glibc's malloc settings for the ``--tuned-malloc`` run: large blocks stay in the heap
#: instead of a fresh ``mmap`` each (by default every block over 32 MB is mapped, zeroed
#: page by page on first touch and unmapped when freed), and freed memory is kept.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**32), "MALLOC_TRIM_THRESHOLD_": str(2**34),
                "MALLOC_TOP_PAD_": str(2**29)}


def run_in_subprocess(args: list[str], timeout: float,
                      extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """``python -m benchmarks.scale ARGS --json-out FILE`` in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.json"
        env = dict(os.environ, **(extra_env or {}))
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", *args,
                               "--json-out", str(path)], env=env, timeout=timeout,
                              capture_output=True, text=True)
        if proc.returncode != 0 or not path.exists():
            return {"error": (proc.stderr or proc.stdout)[-2000:]}
        return json.loads(path.read_text())


#: Sizes from this many nonzeros on no longer fit in any cache: the fit over them shows
#: the asymptotic growth, without the jump from cache-resident to memory-bound.
LARGE_NNZ = 10**7


def growth_exponents(sizes: list[dict[str, Any]], min_nnz: int = 0) -> dict[str, float]:
    """Least-squares slope of log(time or memory) against log(nnz), per stage, over the
    sizes with at least ``min_nnz`` nonzeros."""
    ok = [s for s in sizes if "error" not in s and s["nnz"] >= min_nnz]
    if len(ok) < 2:
        return {}
    lognnz = np.log([s["nnz"] for s in ok])
    series = {stage: [s["stages"].get(stage) for s in ok] for stage in STAGES}
    series["steady J(x)"] = [s["steady"] for s in ok]
    if all(s.get("own_work") for s in ok):
        series["fd own work"] = [s["own_work"] for s in ok]
    series["peak memory"] = [s["peak_bytes"] for s in ok]
    # references, not targets: f itself (what J(x) is measured against), J(x) in units
    # of f (0 when J(x) grows exactly like f), and a copy of nnz doubles (the machine)
    series["f(x) itself"] = [s["f"] for s in ok]
    series["J(x) / f(x)"] = [s["steady"] / s["f"] for s in ok]
    series["copy nnz doubles"] = [s.get("copy_nnz") for s in ok]
    out = {}
    for name, values in series.items():
        if name == "J(x) / f(x)":
            out[name] = float(np.polyfit(lognnz, np.log(values), 1)[0])
        elif all(v is not None and v > 0 for v in values):
            out[name] = float(np.polyfit(lognnz, np.log(values), 1)[0])
    return out


def _exponent_target(sizes: str, exponents: dict[str, float]) -> dict[str, Any]:
    """The exponent target over ``sizes``: every stage's, references aside."""
    return {"target": f"growth exponents against nnz <= {MAX_EXPONENT}, {sizes}",
            "measured": ", ".join(f"{k} {v:.2f}" for k, v in exponents.items()),
            "met": all(v <= MAX_EXPONENT for k, v in exponents.items()
                       if k not in REFERENCE_SERIES) if exponents else None}


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against this run."""
    fd = [s for s in results["sizes"] if "error" not in s and s["backend"] == "fd"]
    if not fd:
        return []
    big = max(fd, key=lambda s: s["nnz"])
    prep = sum(big["stages"].get(k, 0.0) for k in ("compile", "detect", "color", "plan"))
    targets = [
        {"target": f"peak memory <= {MAX_BYTES_PER_NNZ:.0f} bytes per nonzero (fd, every N)",
         "measured": ", ".join(f"{s['bytes_per_nnz']:.0f} at N={s['N']}" for s in fd),
         "met": all(s["bytes_per_nnz"] <= MAX_BYTES_PER_NNZ for s in fd)},
        {"target": f"detect + color + prepare <= {MAX_PREPARE_SECONDS:.0f} s at N={big['N']}",
         "measured": f"{prep:.1f} s", "met": prep <= MAX_PREPARE_SECONDS if big["N"] >= 2236
         else None},
        {"target": f"one fd J(x) <= {MAX_F_EVALS:.0f} f-evaluations at N={big['N']}",
         "measured": f"{big['f_evals']:.1f} as a new matrix, "
                     f"{big.get('f_evals_out', float('nan')):.1f} refilling out=M "
                     f"({big['colors']} colors + 1 evaluation at x"
                     + ("" if big.get("own_work") is None else
                        f"; own work {big['own_work'] / big['f']:.1f} of them") + ")",
         "met": big["f_evals"] <= MAX_F_EVALS},
        _exponent_target("all sizes", results["exponents"]),
    ]
    if results.get("exponents_large"):
        targets.append(_exponent_target(f"sizes with nnz >= {LARGE_NNZ:.0e}",
                                        results["exponents_large"]))
    if results.get("exponents_tuned"):
        targets.append(_exponent_target("all sizes, glibc keeping large blocks",
                                        results["exponents_tuned"]))
    jax = [s for s in results.get("jax_sizes", []) if "error" not in s]
    by_n = {s["N"]: s for s in fd}
    pairs = [(s, by_n[s["N"]]) for s in jax if s["N"] in by_n]
    if pairs:
        # judged at the largest common N: at small N JAX's fixed cost (runtime, compiled
        # executables) dominates whatever the pattern needs
        j, d = pairs[-1]
        targets.append({
            "target": f"jax backend peak memory <= 2x the fd pipeline's, at N={j['N']}",
            "measured": ", ".join(f"{j['bytes_per_nnz']:.0f} vs {d['bytes_per_nnz']:.0f} B/nnz "
                                  f"at N={j['N']}" for j, d in pairs),
            "met": j["peak_bytes"] <= 2 * d["peak_bytes"]})
    return targets


def _mb(b: float) -> str:
    return f"{b / 2**20:.0f} MB"


SIZE_HEADER = ["N", "n", "nnz", "colors", "compile", "detect", "color", "plan", "1st J(x)",
               "J(x)", "J(x, out=M)", "f(x)", "J/f", "out=/f", "own work", "own/f", "peak",
               "B/nnz"]


def size_rows(sizes: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for s in sizes:
        if "error" in s:
            rows.append([str(s.get("N", "?")), "failed"] + [""] * (len(SIZE_HEADER) - 2))
            continue
        st = s["stages"]
        rows.append([str(s["N"]), f"{s['n']:.3g}", f"{s['nnz']:.3g}", str(s["colors"])]
                    + [fmt_time(st.get(k)) for k in STAGES]
                    + [fmt_time(s["steady"]), fmt_time(s.get("steady_out")), fmt_time(s["f"]),
                       f"{s['f_evals']:.1f}", f"{s.get('f_evals_out', float('nan')):.1f}",
                       fmt_time(s.get("own_work")),
                       "-" if s.get("own_work") is None else f"{s['own_work'] / s['f']:.1f}",
                       _mb(s["peak_bytes"]), f"{s['bytes_per_nnz']:.0f}"])
    return rows


def render(results: dict[str, Any], markdown: bool = True) -> str:
    """Tables of a run (markdown for the README, plain text for the terminal)."""
    table = markdown_table if markdown else text_table
    meta = results["meta"]
    parts = [f"Run of `python -m benchmarks.scale` on {meta['date']}, {meta['machine']}, "
             f"load average {meta['loadavg']} at the start (shared machine: times are "
             f"inflated by other work). Default pipeline `prepare_jacobian(f, x)` (fd "
             f"backend) then `J(x)`, each N in its own process. Times are CPU seconds of "
             f"the process (medians of interleaved repeats of `f(x)`, `J(x)` and "
             f"`J(x, out=M)`): on a shared machine wall time "
             f"also counts other processes' time slices (both are in the JSON). `own work` "
             f"is `J(x, out=M)` less the time spent inside its calls of f: the perturbed "
             f"points, the differences and the gather into the matrix. Memory is "
             f"the peak resident memory above the process with f, x and one f(x).", "",
             table(SIZE_HEADER, size_rows(results["sizes"]))]
    if results.get("jax_sizes"):
        parts += ["", "JAX backend (`backend=\"jax\"`, pattern from the numpy twin):", "",
                  table(SIZE_HEADER, size_rows(results["jax_sizes"]))]
    if results.get("stage_memory"):
        s = results["stage_memory"]
        parts += ["", f"Peak memory per stage at N={s['N']} (bytes per nonzero above the "
                      f"baseline): " + ", ".join(f"{k} {v / s['nnz']:.0f}"
                                                 for k, v in s["stage_peak_bytes"].items())]
    if results.get("exponents"):
        parts += ["", "Growth exponents against nnz (slope of the log-log fit), all sizes: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in results["exponents"].items())
                  + ". References, not stages: `f(x) itself`; `J(x) / f(x)`, J(x) in "
                    "units of f (0: J(x) grows exactly as f does); `copy nnz doubles` from "
                    "one existing array to another, the machine's own growth from "
                    "cache-resident to memory-bound sizes."]
    faults = [s for s in results["sizes"] if s.get("f_minflt") is not None]
    if faults:
        parts += ["", "Minor page faults (memory the kernel maps in and zeroes) per f(x) "
                      "alone and per J(x, out=M): "
                  + ", ".join(f"{s['f_minflt']} and {s['J_out_minflt']} at N={s['N']}"
                              for s in faults)]
    tuned = [t for t in results.get("tuned_sizes", []) if "error" not in t]
    if tuned:
        default = {s["N"]: s for s in results["sizes"] if "error" not in s}
        parts += ["", "The same sizes with glibc's malloc keeping large blocks in the heap "
                      "(environment " + " ".join(f"`{k}={v}`" for k, v in TUNED_MALLOC.items())
                  + "; a setting of the user's process, which a library does not change). "
                    "By default every block over 32 MB is mapped fresh and zeroed page by "
                    "page on first touch, on every call: f's temporaries pass that size "
                    "between N = 1448 and N = 2236, and so do those of detection and "
                    "coloring:", "",
                  table(SIZE_HEADER, size_rows(tuned))]
        big = max(tuned, key=lambda t: t["nnz"])
        if big["N"] in default:
            d = default[big["N"]]
            parts += ["", f"At N={big['N']}: f(x) {fmt_time(big['f'])} with "
                          f"{big['f_minflt']} page faults (default {fmt_time(d['f'])}, "
                          f"{d['f_minflt']}), J(x, out=M) {fmt_time(big['steady_out'])} "
                          f"(default {fmt_time(d['steady_out'])}), detect + color + plan "
                          f"{sum(big['stages'][k] for k in ('detect', 'color', 'plan')):.1f} s "
                          f"(default "
                          f"{sum(d['stages'][k] for k in ('detect', 'color', 'plan')):.1f} s)."]
        if results.get("exponents_tuned"):
            parts += ["", "Growth exponents against nnz of these sizes: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in results["exponents_tuned"].items())]
    if results.get("exponents_large"):
        parts += ["", f"The same over the sizes with nnz >= {LARGE_NNZ:.0e} (no longer "
                      f"cache-resident): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in results["exponents_large"].items())]
    if results.get("tradeoff"):
        t = results["tradeoff"]
        parts += ["", f"Colors against coloring time at N={t['N']} "
                      f"(nnz={t['nnz']:.3g}; `coloring=` options of `prepare_jacobian`):", "",
                  table(["budget", "colors", "coloring CPU time"],
                        [[r["budget"], str(r["colors"]), fmt_time(r["time"])]
                         for r in t["rows"]])]
    if results.get("executor"):
        e = results["executor"]
        parts += ["", f"fd Jacobian of an f that sleeps {e['f_seconds']} s ({e['colors']} "
                      f"colors + 1 evaluation at x), {e['workers']} workers: serial "
                      f"{fmt_time(e['serial'])}, process pool {fmt_time(e['process_pool'])}"
                  + (f", dask LocalCluster {fmt_time(e['dask'])}" if e.get("dask") else "")
                  + "."]
    if results.get("targets"):
        parts += ["", "Targets of the issue, checked on this run:", ""]
        parts += target_lines(results["targets"])
    return "\n".join(parts)


def readme_section(results: dict[str, Any]) -> str:
    """What goes between the README's scale markers."""
    return "\n".join([
        README_START,
        "Generated by `python -m benchmarks.scale --docs --update-readme` from "
        "[`docs/scale.json`](docs/scale.json); do not edit by hand.",
        "",
        render(results, markdown=True),
        "",
        "![stage times and peak memory against nnz](docs/scale.png)",
        README_END,
    ])


def update_readme(results: dict[str, Any], path: Path = README_PATH) -> None:
    replace_readme_section(path, README_START, README_END, readme_section(results))


def plot(results: dict[str, Any], path: Path) -> None:
    """Log-log stage times and peak memory against nnz."""
    import matplotlib  # noqa: PLC0415  (optional)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = [s for s in results["sizes"] if "error" not in s]
    nnz = np.array([s["nnz"] for s in sizes], dtype=float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stage in STAGES:
        ax1.loglog(nnz, [s["stages"].get(stage, np.nan) for s in sizes], "o-", label=stage)
    ax1.loglog(nnz, [s["steady"] for s in sizes], "s--", label="steady J(x)")
    ax1.loglog(nnz, [s["f"] for s in sizes], "k:", label="f(x)")
    ax1.loglog(nnz, nnz / nnz[0] * sizes[0]["steady"], color="0.7", lw=0.8,
               label="slope 1")
    ax1.set_xlabel("Jacobian nonzeros")
    ax1.set_ylabel("seconds")
    ax1.legend(fontsize=7)
    ax1.set_title("time per stage (fd backend)")
    ax2.loglog(nnz, [s["peak_bytes"] / 2**20 for s in sizes], "o-", label="fd pipeline")
    jax = [s for s in results.get("jax_sizes", []) if "error" not in s]
    if jax:
        ax2.loglog([s["nnz"] for s in jax], [s["peak_bytes"] / 2**20 for s in jax], "s-",
                   label="jax backend")
    ax2.loglog(nnz, nnz * MAX_BYTES_PER_NNZ / 2**20, color="0.7", lw=0.8,
               label=f"{MAX_BYTES_PER_NNZ:.0f} B/nnz")
    ax2.set_xlabel("Jacobian nonzeros")
    ax2.set_ylabel("peak memory above baseline (MB)")
    ax2.legend(fontsize=7)
    ax2.set_title("peak memory")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> dict[str, Any]:
    import platform  # noqa: PLC0415

    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()} {os.cpu_count()}-core {platform.system()}",
            "loadavg": ", ".join(f"{v:.1f}" for v in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help=f"N in {QUICK_SIZES}")
    parser.add_argument("--jax-sizes", type=int, nargs="*", default=[],
                        help="also run the jax backend at these N")
    parser.add_argument("--tradeoff-n", type=int, default=TRADEOFF_N)
    parser.add_argument("--no-executor", action="store_true")
    parser.add_argument("--tuned-malloc", action="store_true",
                        help="also run every N with TUNED_MALLOC in the environment")
    parser.add_argument("--docs", action="store_true", help="write docs/scale.json and .png")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--from-json", type=Path, help="render a saved run")
    parser.add_argument("--timeout", type=float, default=1800.0)
    # internal: one measurement in this process
    parser.add_argument("--one", type=int)
    parser.add_argument("--backend", default="fd")
    parser.add_argument("--tradeoff", type=int)
    parser.add_argument("--executor", action="store_true")
    parser.add_argument("--json-out", type=Path)
    a = parser.parse_args(argv)

    if a.one is not None or a.tradeoff is not None or a.executor:
        if a.one is not None:
            out: Any = measure_size(a.one, a.backend)
        elif a.tradeoff is not None:
            out = {"N": a.tradeoff, "nnz": int(problems.brusselator_sparsity(a.tradeoff).nnz),
                   "rows": coloring_tradeoff(a.tradeoff)}
        else:
            out = executor_speedup()
        text = json.dumps(out, indent=1)
        if a.json_out:
            a.json_out.write_text(text)
        else:
            print(text)
        return 0

    if a.from_json:
        results = json.loads(a.from_json.read_text())
        results["exponents"] = growth_exponents(results["sizes"])
        results["exponents_large"] = growth_exponents(results["sizes"], LARGE_NNZ)
        if results.get("tuned_sizes"):
            results["exponents_tuned"] = growth_exponents(results["tuned_sizes"])
        results["targets"] = check_targets(results)
    else:
        sizes = a.sizes or (QUICK_SIZES if a.quick else SIZES)
        results = {"meta": machine(), "sizes": [], "jax_sizes": []}
        for N in sizes:
            print(f"N={N} (fd) ...", flush=True)
            results["sizes"].append(run_in_subprocess(["--one", str(N)], a.timeout))
            print(text_table(SIZE_HEADER, size_rows(results["sizes"][-1:])), flush=True)
        for N in a.jax_sizes:
            print(f"N={N} (jax) ...", flush=True)
            results["jax_sizes"].append(run_in_subprocess(["--one", str(N), "--backend", "jax"],
                                                          a.timeout))
        ok = [s for s in results["sizes"] if "error" not in s]
        if ok:
            big = max(ok, key=lambda s: s["nnz"])
            results["stage_memory"] = {"N": big["N"], "nnz": big["nnz"],
                                       "stage_peak_bytes": big["stage_peak_bytes"]}
        results["exponents"] = growth_exponents(results["sizes"])
        results["exponents_large"] = growth_exponents(results["sizes"], LARGE_NNZ)
        if a.tradeoff_n:
            print(f"coloring trade-off at N={a.tradeoff_n} ...", flush=True)
            results["tradeoff"] = run_in_subprocess(["--tradeoff", str(a.tradeoff_n)],
                                                    a.timeout)
        if a.tuned_malloc:
            results["tuned_sizes"] = []
            for N in sizes:
                print(f"N={N} (fd, tuned malloc) ...", flush=True)
                results["tuned_sizes"].append(run_in_subprocess(["--one", str(N)], a.timeout,
                                                                TUNED_MALLOC))
            results["exponents_tuned"] = growth_exponents(results["tuned_sizes"])
        if not a.no_executor:
            print("executor speed-up ...", flush=True)
            results["executor"] = run_in_subprocess(["--executor"], a.timeout)
        results["meta"]["loadavg_end"] = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        results["targets"] = check_targets(results)
    print(render(results, markdown=False))
    if a.docs:
        DOCS_DIR.mkdir(exist_ok=True)
        (DOCS_DIR / "scale.json").write_text(json.dumps(results, indent=1) + "\n")
        plot(results, DOCS_DIR / "scale.png")
    if a.update_readme:
        update_readme(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
