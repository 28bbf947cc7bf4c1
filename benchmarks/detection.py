"""Sparsity-detection benchmark for ``tracer`` (issue 5).

Run as ``python -m benchmarks.detection [--sizes 32,64,128,256] [--repeat 7] [--json PATH]``.

For every case it reports

- the *first call* (in a fresh process this includes Numba compilation or cache loading,
  and any other one-time cost),
- the *median* of ``--repeat`` further detection calls,
- the time of the same function evaluated on plain floats (median), and their ratio,
- the target from the issue, where there is one, and whether it is met.

Cases: the vectorized numpy Brusselator Jacobian pattern (``--sizes``), the loop-style
Brusselator (N = 32) against the same loop on floats, the Hessian pattern of
``sum(f(u)**2)`` for the Brusselator (N = 32, 64), the chained Rosenbrock and arrowhead
Hessians (n = 1e4, 1e5), the JAX front-end on ``make_brusselator_jax`` and, when it is
importable, asdex's detection of the same JAX function in the same process, and the torch
front-end on the same Brusselator written in PyTorch (``--torch-sizes``).

The last case prices re-detection in sparsead's local mode: a ``prepare_jacobian(...,
sparsity_mode="local")`` object (fd backend) evaluated at a new point on every call, which
detects the local pattern again each time, next to the same object with
``reuse_local_pattern=True`` (no re-detection) and to ``f`` on floats.

Every detected pattern is compared with the exact one from ``benchmarks.problems``: a
fast wrong answer is reported as ``WRONG``. The machine is usually shared, so timings are
noisy; compare the ratios measured in one run rather than absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from benchmarks.problems import (
    arrowhead,
    arrowhead_hessian_sparsity,
    brusselator_initial,
    brusselator_objective_numpy,
    brusselator_sparsity,
    chained_rosenbrock,
    make_brusselator_jax,
    make_brusselator_loop,
    make_brusselator_numpy,
    rosenbrock_hessian_sparsity,
)

# Targets from the issue (seconds, or ratios).
TARGET_JAC_N128 = 0.025
TARGET_SCALING_256_OVER_128 = 5.0
TARGET_HESS_BRUSSELATOR_N64 = 0.100
TARGET_HESS_ROSENBROCK_1E5 = 0.200
TARGET_LOOP_OVER_FLOATS = 30.0


@dataclass
class CaseResult:
    """One benchmark case: detection timings next to the plain-float evaluation."""

    case: str
    size: int                      # N for the Brusselator, n for the Hessian problems
    n: int                         # number of inputs
    nnz: int | None = None
    correct: bool | None = None    # pattern equals the exact one
    first_s: float | None = None   # first detection call in this process
    median_s: float | None = None  # median of the repeated calls
    float_s: float | None = None   # the same function on plain floats (median)
    target: str = ""
    target_met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.median_s is None or not self.float_s:
            return None
        return self.median_s / self.float_s


def fmt_time(seconds: float | None) -> str:
    """Three significant digits with a unit (``"1.23 ms"``); ``-`` when missing."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _block(result: Any) -> Any:
    """Wait for asynchronous (JAX) results before the clock stops."""
    if hasattr(result, "block_until_ready"):
        result.block_until_ready()
    return result


def time_first_and_median(fn: Callable[[], Any], repeat: int, budget_s: float = 5.0):
    """``(result, first call seconds, median seconds of up to ``repeat`` more calls)``.

    Slow functions get fewer repeats so that one case stays within about ``budget_s``.
    """
    t0 = time.perf_counter()
    result = _block(fn())
    first = time.perf_counter() - t0
    samples = []
    spent = 0.0
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        _block(fn())
        dt = time.perf_counter() - t0
        samples.append(dt)
        spent += dt
        if spent > budget_s:
            break
    return result, first, statistics.median(samples)


def time_median(fn: Callable[[], Any], repeat: int, min_time: float = 0.01) -> float:
    """Median seconds per call; fast functions are looped so each sample lasts ``min_time``."""
    _block(fn())
    t0 = time.perf_counter()
    _block(fn())
    one = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_time / one))
    samples = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        for _ in range(number):
            _block(fn())
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def _same_pattern(P, E) -> bool:
    P = P.tocsr() if hasattr(P, "tocsr") else P
    if P.shape != E.shape:
        return False
    return (P.astype(bool) != E.astype(bool)).nnz == 0


def _report(res: CaseResult, out) -> None:
    """One line per finished case."""
    parts = [f"{res.case:<28} {res.size:>7}", f"first {fmt_time(res.first_s):>9}",
             f"median {fmt_time(res.median_s):>9}"]
    if res.float_s is not None:
        ratio = res.ratio
        parts.append(f"floats {fmt_time(res.float_s):>9}")
        parts.append(f"ratio {ratio:7.1f}x" if ratio is not None else "ratio -")
    if res.nnz is not None:
        parts.append(f"nnz {res.nnz}")
    if res.correct is not None:
        parts.append("ok" if res.correct else "WRONG")
    if res.target:
        met = {True: "met", False: "MISSED", None: "?"}[res.target_met]
        parts.append(f"[target {res.target}: {met}]")
    if res.note:
        parts.append(res.note)
    print("  ".join(parts), file=out, flush=True)


# ------------------------------------------------------------------------------ cases
def bench_brusselator_jacobian(tracer, N: int, repeat: int) -> CaseResult:
    f = make_brusselator_numpy(N)
    y = brusselator_initial(N)
    P, first, med = time_first_and_median(lambda: tracer.jacobian_sparsity(f, y), repeat)
    res = CaseResult("jacobian numpy brusselator", N, y.size, nnz=int(P.nnz),
                     correct=_same_pattern(P, brusselator_sparsity(N)), first_s=first,
                     median_s=med, float_s=time_median(lambda: f(y), repeat))
    if N == 128:
        res.target, res.target_met = "<= 25 ms", med <= TARGET_JAC_N128
    return res


def bench_brusselator_loop(tracer, N: int, repeat: int) -> CaseResult:
    f = make_brusselator_loop(N)
    y = brusselator_initial(N)
    P, first, med = time_first_and_median(lambda: tracer.jacobian_sparsity(f, y),
                                          min(repeat, 5))
    res = CaseResult("jacobian loop brusselator", N, y.size, nnz=int(P.nnz),
                     correct=_same_pattern(P, brusselator_sparsity(N)), first_s=first,
                     median_s=med, float_s=time_median(lambda: f(y), min(repeat, 5)))
    res.target = "<= 30x floats"
    res.target_met = res.ratio <= TARGET_LOOP_OVER_FLOATS
    return res


def bench_brusselator_hessian(tracer, N: int, repeat: int) -> CaseResult:
    g = brusselator_objective_numpy(N)
    y = brusselator_initial(N)
    P, first, med = time_first_and_median(lambda: tracer.hessian_sparsity(g, y), repeat)
    J = brusselator_sparsity(N).astype(np.int64)
    exact = (J.T @ J) != 0   # pairs within each output's index set
    res = CaseResult("hessian brusselator sum(f^2)", N, y.size, nnz=int(P.nnz),
                     correct=_same_pattern(P, exact), first_s=first, median_s=med,
                     float_s=time_median(lambda: g(y), repeat))
    if N == 64:
        res.target, res.target_met = "<= 100 ms", med <= TARGET_HESS_BRUSSELATOR_N64
    return res


def bench_objective_hessian(tracer, name: str, n: int, repeat: int) -> CaseResult:
    fn, exact_fn = {"rosenbrock": (chained_rosenbrock, rosenbrock_hessian_sparsity),
                    "arrowhead": (arrowhead, arrowhead_hessian_sparsity)}[name]
    x = np.random.default_rng(0).uniform(0.5, 1.5, n)
    P, first, med = time_first_and_median(lambda: tracer.hessian_sparsity(fn, x), repeat)
    res = CaseResult(f"hessian {name}", n, n, nnz=int(P.nnz),
                     correct=_same_pattern(P, exact_fn(n)), first_s=first, median_s=med,
                     float_s=time_median(lambda: fn(x), repeat))
    if name == "rosenbrock" and n == 100_000:
        res.target, res.target_met = "<= 200 ms", med <= TARGET_HESS_ROSENBROCK_1E5
    return res


def bench_jax_frontend(tracer, N: int, repeat: int) -> CaseResult:
    res = CaseResult("jacobian jax front-end", N, 2 * N * N)
    try:
        import jax.numpy as jnp

        f = make_brusselator_jax(N)
        y = jnp.asarray(brusselator_initial(N))
        P, first, med = time_first_and_median(lambda: tracer.jacobian_sparsity(f, y), repeat)
        res.nnz, res.first_s, res.median_s = int(P.nnz), first, med
        res.correct = _same_pattern(P, brusselator_sparsity(N))
        res.float_s = time_median(lambda: f(y), repeat)
    except Exception as exc:  # the front-end is being built; report why it failed
        res.note = f"not available: {type(exc).__name__}: {str(exc)[:120]}"
    return res


def bench_torch_frontend(tracer, N: int, repeat: int) -> CaseResult:
    res = CaseResult("jacobian torch front-end", N, 2 * N * N)
    try:
        import torch

        from benchmarks.brusselator import make_brusselator_torch

        f = make_brusselator_torch(N)
        y = torch.from_numpy(brusselator_initial(N))
        P, first, med = time_first_and_median(lambda: tracer.jacobian_sparsity(f, y), repeat)
        res.nnz, res.first_s, res.median_s = int(P.nnz), first, med
        res.correct = _same_pattern(P, brusselator_sparsity(N))
        res.float_s = time_median(lambda: f(y), repeat)
    except ImportError as exc:
        res.note = f"not available: {exc}"
    return res


def bench_asdex(N: int, repeat: int) -> CaseResult:
    res = CaseResult("jacobian asdex (peer)", N, 2 * N * N)
    try:
        import asdex
        import jax.numpy as jnp

        f = make_brusselator_jax(N)
        y = jnp.asarray(brusselator_initial(N))
        P, first, med = time_first_and_median(lambda: asdex.jacobian_sparsity(f, y),
                                              min(repeat, 3), budget_s=3.0)
        res.nnz, res.first_s, res.median_s = int(P.nnz), first, med
        E = brusselator_sparsity(N)
        res.correct = bool(int(P.nnz) == E.nnz)
        from importlib.metadata import version

        res.note = f"asdex {version('asdex')}"
    except ImportError as exc:
        res.note = f"not available: {exc}"
    except Exception as exc:
        res.note = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    return res


def bench_local_redetection(N: int, repeat: int) -> CaseResult:
    """``J(x)`` of a local-mode prepared Jacobian at alternating new points: re-detection
    on every call (median_s) against ``reuse_local_pattern=True`` (``extra["reuse_s"]``)."""
    import sparsead  # here, not at the top: main() times `import tracer` on its own

    f = make_brusselator_numpy(N)
    y = brusselator_initial(N)
    points = [y, y * 1.001 + 0.001]
    J = sparsead.prepare_jacobian(f, y, sparsity_mode="local")
    K = sparsead.prepare_jacobian(f, y, sparsity_mode="local", reuse_local_pattern=True)

    def alternating(prepared):
        state = [0]

        def call():
            state[0] ^= 1
            return prepared(points[state[0]])
        return call

    M, first, med = time_first_and_median(alternating(J), repeat)
    reuse = time_median(alternating(K), repeat)
    res = CaseResult("prepared local J(x), new x", N, y.size, nnz=int(M.nnz),
                     correct=_same_pattern(J.sparsity, brusselator_sparsity(N)),
                     first_s=first, median_s=med, float_s=time_median(lambda: f(y), repeat))
    res.extra.update(reuse_s=reuse, over_reuse=med / reuse if reuse else None,
                     ncolors=J.ncolors)
    res.note = (f"reuse_local_pattern=True {fmt_time(reuse)}: re-detection costs "
                f"{med / reuse:.1f}x the J(x) call ({J.ncolors} colors, fd)")
    return res


# ------------------------------------------------------------------------------ main
def _int_list(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.detection",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=_int_list, default=[32, 64, 128, 256],
                   help="Brusselator N for the Jacobian cases (default 32,64,128,256)")
    p.add_argument("--loop-sizes", type=_int_list, default=[32],
                   help="Brusselator N for the loop-style case (default 32)")
    p.add_argument("--hessian-sizes", type=_int_list, default=[32, 64],
                   help="Brusselator N for the Hessian case (default 32,64)")
    p.add_argument("--objective-sizes", type=_int_list, default=[10_000, 100_000],
                   help="n for the Rosenbrock and arrowhead Hessians (default 1e4,1e5)")
    p.add_argument("--jax-sizes", type=_int_list, default=[32, 64, 128],
                   help="N for the JAX front-end and asdex (default 32,64,128)")
    p.add_argument("--local-sizes", type=_int_list, default=[32, 64],
                   help="Brusselator N for sparsead's local-mode re-detection (default 32,64)")
    p.add_argument("--torch-sizes", type=_int_list, default=[32, 64, 128],
                   help="N for the torch front-end (default 32,64,128)")
    p.add_argument("--no-peers", action="store_true", help="skip asdex")
    p.add_argument("--repeat", type=int, default=7, help="repeated calls per case (median)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p


def main(argv: list[str] | None = None, out=None) -> list[CaseResult]:
    """Run the benchmark; print one line per case and a summary; return the results."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    t_start = time.perf_counter()

    t0 = time.perf_counter()
    import tracer
    import_s = time.perf_counter() - t0
    print(f"# tracer detection benchmark  (python {platform.python_version()}, "
          f"numpy {np.__version__}, import tracer {fmt_time(import_s)}; shared machine: "
          f"timings are noisy, compare ratios)", file=out, flush=True)
    print("# first = first call in this process (Numba compile / cache load included); "
          f"median of up to {args.repeat} more calls; floats = same function on floats",
          file=out, flush=True)

    results: list[CaseResult] = []

    def run(bench, *a):
        res = bench(*a)
        results.append(res)
        _report(res, out)
        return res

    by_N = {}
    for N in args.sizes:
        by_N[N] = run(bench_brusselator_jacobian, tracer, N, args.repeat)
    if 128 in by_N and 256 in by_N and by_N[128].median_s:
        scale = by_N[256].median_s / by_N[128].median_s
        by_N[256].extra["over_N128"] = scale
        by_N[256].target = "<= 5x N=128"
        by_N[256].target_met = scale <= TARGET_SCALING_256_OVER_128
        print(f"{'scaling N=256 / N=128':<28} {'':>7}  {scale:.2f}x  "
              f"(nnz ratio 4.00x)  [target <= 5x: "
              f"{'met' if by_N[256].target_met else 'MISSED'}]", file=out, flush=True)
    for N in args.loop_sizes:
        run(bench_brusselator_loop, tracer, N, args.repeat)
    for N in args.hessian_sizes:
        run(bench_brusselator_hessian, tracer, N, args.repeat)
    for n in args.objective_sizes:
        run(bench_objective_hessian, tracer, "rosenbrock", n, args.repeat)
        run(bench_objective_hessian, tracer, "arrowhead", n, args.repeat)

    print("# JAX front-end: tracer.jacobian_sparsity(make_brusselator_jax(N), jnp array); "
          "floats = eager jax.numpy call; asdex (peer) detects the same JAX function",
          file=out, flush=True)
    for N in args.jax_sizes:
        run(bench_jax_frontend, tracer, N, args.repeat)
        if not args.no_peers:
            run(bench_asdex, N, args.repeat)

    print("# sparsead local mode: J(x) at a new x re-detects the pattern; ratio = that call "
          "over f on floats", file=out, flush=True)
    for N in args.local_sizes:
        run(bench_local_redetection, N, args.repeat)
    print("# torch front-end: tracer.jacobian_sparsity(make_brusselator_torch(N), torch "
          "tensor); floats = eager torch call", file=out, flush=True)
    for N in args.torch_sizes:
        run(bench_torch_frontend, tracer, N, args.repeat)

    missed = [r for r in results if r.target_met is False]
    wrong = [r for r in results if r.correct is False]
    print(f"# done in {time.perf_counter() - t_start:.1f} s; "
          f"{sum(r.target_met is True for r in results)} targets met, {len(missed)} missed"
          + (f" ({', '.join(f'{r.case} {r.size}' for r in missed)})" if missed else "")
          + (f"; WRONG patterns: {', '.join(f'{r.case} {r.size}' for r in wrong)}"
             if wrong else ""), file=out, flush=True)

    if args.json:
        payload = {"python": platform.python_version(), "numpy": np.__version__,
                   "import_tracer_s": import_s,
                   "results": [dict(asdict(r), ratio=r.ratio) for r in results]}
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
