"""The main job: sparse Jacobians of the 2D Brusselator, ours next to the alternatives.

Run from the repository root::

    python -m benchmarks.brusselator                 # N = 32, 64, 128 (a few minutes)
    python -m benchmarks.brusselator --quick         # tiny smoke run
    python -m benchmarks.brusselator --sizes 16 256  # other grid sizes
    python -m benchmarks.brusselator --readme        # print markdown tables instead

For every grid size N (n = 2 N^2 unknowns) it prints one table with, for each method:
the number of colors (JVPs per Jacobian), the first-call time split into sparsity
detection, coloring, compilation and first evaluation, the steady-state time of one
Jacobian (median of repeats) and its ratio to ``sparsead[jax]`` measured in the same
process, and the largest error against an independent reference Jacobian.

Methods: our backends ``fd`` (numpy finite differences), ``jax`` and ``torch``; the peers
asdex, sparsejac, scipy ``approx_derivative(sparsity=...)`` and dense ``jax.jacfwd``
(while the dense matrix is small). A method that is not installed or not yet
implemented shows as one "not available: <reason>" line.

Then it solves the stiff Brusselator ODE (N = 32, t in [0, 11.5]) with
``solve_ivp(method="BDF")`` three ways (our ``sparsead.ode_jacobian``, scipy's
``jac_sparsity`` finite differences, scipy's dense finite differences) and reports wall
time, nfev, njev, nlu and the largest difference between the solutions.

Our backends' first calls are also measured each in a new process (see
:mod:`benchmarks.first_call`): **cold**, with an empty ``NUMBA_CACHE_DIR`` (what a user
waits for the very first time on a machine), and **warm**, with the cache the cold run
filled (every later first call).

Everything goes to a JSON file; with matplotlib two PNGs are drawn: the Jacobian pattern
colored by column color, and time against n for every method.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy
import scipy.sparse as sp

from benchmarks import first_call, problems
from benchmarks._timing import (
    Progress,
    fmt_ratio,
    fmt_time,
    interleaved_steady,
    markdown_table,
    pin_to_cpu,
    pinning_note,
    record_method,
    replace_readme_section,
    target_lines,
    text_table,
    timed,
)

DEFAULT_SIZES = (32, 64, 128)
QUICK_SIZES = (6, 8)
OUR_BACKENDS = ("fd", "jax", "torch")
PEERS = ("asdex", "sparsejac", "scipy", "jacfwd")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
# Evaluate at a time after the forcing switches on; the pattern does not depend on t.
EVAL_TIME = 2.0
ODE_TSPAN = (0.0, 11.5)
ODE_RTOL = 1e-6
ODE_ATOL = 1e-8

METHOD_LABELS = {
    "fd": "sparsead[fd]",
    "jax": "sparsead[jax]",
    "torch": "sparsead[torch]",
    "jax_jvp_only": "  floor: jax vmap(jvp), no decompression",
    "asdex": "asdex",
    "sparsejac": "sparsejac",
    "scipy": "scipy approx_derivative",
    "jacfwd": "jax.jacfwd (dense)",
}


class NotAvailable(Exception):
    """A method cannot run here; the message says why (shown as 'not available: ...')."""


# ---------------------------------------------------------------------------------------
# problem variants


def make_brusselator_torch(N: int, t: float = 0.0) -> Callable[[Any], Any]:
    """The Brusselator right-hand side in PyTorch, same maths as ``benchmarks.problems``."""
    import torch

    _, dx = problems.brusselator_grid(N)
    alpha = problems.ALPHA_PARAM / dx**2
    forcing = torch.as_tensor(problems.brusselator_forcing(N, t), dtype=torch.float64)
    A, B = problems.A_PARAM, problems.B_PARAM

    def f(y):
        y = y.reshape(2, N, N)
        u, v = y[0], y[1]

        def lap(w):
            return (torch.roll(w, 1, 0) + torch.roll(w, -1, 0)
                    + torch.roll(w, 1, 1) + torch.roll(w, -1, 1) - 4.0 * w)

        u2v = u * u * v
        du = alpha * lap(u) + B + u2v - (A + 1.0) * u + forcing
        dv = alpha * lap(v) + A * u - u2v
        return torch.cat([du.reshape(-1), dv.reshape(-1)])

    return f


def _enable_jax_x64() -> None:
    """The reference values are float64; JAX computes in float32 unless told otherwise."""
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)


def _eval_point(N: int) -> np.ndarray:
    """A generic point: the initial condition plus a small deterministic perturbation."""
    y0 = problems.brusselator_initial(N)
    rng = np.random.default_rng(N)
    return y0 + 0.1 * rng.random(y0.size)


# ---------------------------------------------------------------------------------------
# independent reference Jacobian (scipy's grouping + JAX JVPs, decompressed by hand)


def _column_groups(P: sp.csr_array) -> np.ndarray:
    """scipy's own greedy column grouping (independent of our coloring package)."""
    from scipy.optimize._numdiff import group_columns

    return np.asarray(group_columns(sp.csc_matrix(P)))


def reference_jacobian(N: int, x: np.ndarray, P: sp.csr_array) -> sp.csr_array:
    """Exact Jacobian on the pattern ``P``, computed without any of our packages.

    Uses JAX forward mode on scipy's column groups when JAX is installed, else a
    complex-step derivative of the numpy function (same groups).
    """
    groups = _column_groups(P)
    k = int(groups.max()) + 1
    V = np.zeros((k, x.size))
    V[groups, np.arange(x.size)] = 1.0
    try:
        import jax
        import jax.numpy as jnp

        f = problems.make_brusselator_jax(N, EVAL_TIME)
        xj = jnp.asarray(x)
        JV = np.asarray(jax.vmap(lambda v: jax.jvp(f, (xj,), (v,))[1])(jnp.asarray(V)))
    except ImportError:
        f = problems.make_brusselator_numpy(N, EVAL_TIME)
        h = 1e-30
        JV = np.stack([np.imag(f(x + 1j * h * v)) / h for v in V])
    C = sp.coo_array(P)
    vals = JV[groups[C.col], C.row]
    return sp.csr_array((vals, (C.row, C.col)), shape=P.shape)


def _to_csr(J: Any, shape: tuple[int, int]) -> sp.csr_array:
    """Any method's result (scipy sparse, BCOO, dense numpy/JAX) as a scipy CSR array."""
    if sp.issparse(J):
        return sp.csr_array(J)
    if hasattr(J, "indices") and hasattr(J, "data") and hasattr(J, "nse"):  # JAX BCOO
        idx = np.asarray(J.indices)
        return sp.csr_array((np.asarray(J.data), (idx[:, 0], idx[:, 1])), shape=shape)
    return sp.csr_array(np.asarray(J))


def relative_error(J: Any, R: sp.csr_array) -> float:
    """``max |J - R| / max |R|`` over all entries."""
    D = _to_csr(J, R.shape) - R
    scale = float(np.abs(R.data).max()) if R.nnz else 1.0
    return float(np.abs(D.data).max()) / scale if D.nnz else 0.0


# ---------------------------------------------------------------------------------------
# our library


def _import_ours(*required: str) -> tuple[Any, Any, Any]:
    """Import tracer, coloring and sparsead, or say which required piece is missing.

    ``required`` names functions such as ``"tracer.jacobian_sparsity"``; by default
    ``coloring.color`` and ``sparsead.prepare_jacobian``.
    """
    try:
        import coloring
        import sparsead
        import tracer
    except ImportError as exc:  # pragma: no cover - the packages ship with the repo
        raise NotAvailable(f"cannot import our packages ({exc})") from exc
    modules = {"tracer": tracer, "coloring": coloring, "sparsead": sparsead}
    required = required or ("coloring.color", "sparsead.prepare_jacobian")
    missing = [name for name in required
               if not hasattr(modules[name.split(".")[0]], name.split(".")[1])]
    if missing:
        raise NotAvailable(", ".join(missing) + " not implemented yet")
    return tracer, coloring, sparsead


def _backend_function(backend: str, N: int) -> Callable[[Any], Any]:
    """The Brusselator written for one backend (numpy, jax.numpy or torch)."""
    if backend == "fd":
        return problems.make_brusselator_numpy(N, EVAL_TIME)
    if backend == "jax":
        try:
            import jax  # noqa: F401
        except ImportError as exc:
            raise NotAvailable("JAX is not installed (pip install sparsead[jax])") from exc
        return problems.make_brusselator_jax(N, EVAL_TIME)
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise NotAvailable("PyTorch is not installed (pip install sparsead[torch])") from exc
        return make_brusselator_torch(N, EVAL_TIME)
    raise ValueError(f"unknown backend {backend!r}")


def detect_pattern(N: int, x: np.ndarray) -> dict[str, Any]:
    """Time ``tracer.jacobian_sparsity`` on the numpy Brusselator and check it.

    The detected pattern must contain the exact one (it may never miss a nonzero).
    """
    tracer, _, _ = _import_ours("tracer.jacobian_sparsity")
    f = problems.make_brusselator_numpy(N, EVAL_TIME)
    P, t = timed(tracer.jacobian_sparsity, f, x)
    exact = problems.brusselator_sparsity(N)
    P = sp.csr_array(P)
    missing = int((exact.astype(np.int8) - P.astype(np.int8) > 0).sum())
    return {"pattern": P, "time": t, "nnz": int(P.nnz), "exact": bool(
        missing == 0 and P.nnz == exact.nnz), "missing": missing}


def color_pattern(P: sp.csr_array, backend: str = "fd") -> dict[str, Any]:
    """Color the pattern the way ``sparsead.prepare_jacobian`` does by default, and time it.

    Uses sparsead's own chooser (best of column and row colorings over its default
    orders) when present; otherwise the best column or row coloring over
    ``coloring.BEST_ORDERS``.
    """
    _, coloring, sparsead = _import_ours()
    t0 = time.perf_counter()
    try:
        from sparsead._choose_coloring import choose_jacobian_coloring
        from sparsead.backends import get_backend
    except ImportError:
        orders = tuple(getattr(coloring, "BEST_ORDERS", ("largest_first", "smallest_last")))
        best = None
        for problem in ("column", "row"):
            res = coloring.color(P, problem, orders)
            if best is None or res.ncolors < best.ncolors:
                best = res
        result = best
    else:
        result = choose_jacobian_coloring(P, None, get_backend(backend), "auto").coloring
    return {"coloring": result, "time": time.perf_counter() - t0,
            "ncolors": int(result.ncolors), "problem": str(result.problem)}


def run_ours(backend: str, N: int, x: np.ndarray, P: sp.csr_array, colored: dict,
             detect_time: float, repeats: int, budget: float) -> dict[str, Any]:
    """First-call split and steady state of ``sparsead.prepare_jacobian`` on one backend."""
    tracer, _, sparsead = _import_ours()
    f = _backend_function(backend, N)
    row: dict[str, Any] = {"detect": detect_time, "color": colored["time"]}
    if detect_time is None:
        row["note"] = "tracer not available: exact pattern given, first call excludes detection"
    # JAX functions are traced by the tracer's JAX front-end when it can read them;
    # otherwise the numpy twin's pattern (detected above) is used, and we say so.
    if backend == "jax" and detect_time is not None:
        try:
            _, row["detect"] = timed(tracer.jacobian_sparsity, f, x)
            row["detect_note"] = "jax function traced"
        except Exception as exc:  # noqa: BLE001 - any failure means: use the twin
            row["detect_note"] = f"numpy twin ({type(exc).__name__})"
    elif backend == "torch":
        row["detect_note"] = "numpy twin"
    J, row["compile"] = timed(sparsead.prepare_jacobian, f, x, backend=backend,
                              sparsity=P, coloring=colored["coloring"])
    row["colors"] = int(getattr(J, "ncolors", colored["ncolors"]))
    M, row["first_eval"] = timed(J, x)
    row["first_call"] = ((row["detect"] or 0.0) + row["color"] + row["compile"]
                         + row["first_eval"])
    row["timers"] = {"steady": lambda: J(x)}
    try:  # in-place refill, the form a Newton loop uses
        J(x, out=M.copy())
        row["timers"]["steady_out"] = lambda: J(x, out=M)
    except Exception:  # noqa: BLE001 - optional feature, reported as missing
        row["steady_out"] = None
    if backend == "jax":
        add_jax_array_timer(row, J, x, M)
    row["result"] = M.copy()
    return row


def add_jax_array_timer(row: dict[str, Any], prepared: Callable[[Any], Any], x: np.ndarray,
                        M: Any) -> None:
    """Time ``prepared(jnp.asarray(x))`` too, as ``steady_jax_x``.

    The JAX peers and the floor are timed on a JAX array; a numpy x costs one more
    host-to-device copy per call, so both are timed and the comparison is like for
    like. Skipped (and so reported as missing) if the result differs from ``M``.
    """
    import jax.numpy as jnp

    xj = jnp.asarray(x)
    if np.array_equal(prepared(xj).data, M.data):
        row["timers"]["steady_jax_x"] = lambda: prepared(xj)


def run_jvp_only(N: int, x: np.ndarray, groups: np.ndarray, repeats: int,
                 budget: float) -> dict[str, Any]:
    """Floor for the JAX backend: jitted ``vmap(jvp)`` on constant seeds, no decompression."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise NotAvailable("JAX is not installed") from exc
    f = problems.make_brusselator_jax(N, EVAL_TIME)
    k = int(groups.max()) + 1
    V = np.zeros((k, x.size))
    V[groups, np.arange(x.size)] = 1.0
    Vj = jnp.asarray(V)
    xj = jnp.asarray(x)
    # The seeds are a compile-time constant (closed over), which lets XLA simplify the
    # products with 0/1 seeds: about 2x faster than passing them as an argument.
    g = jax.jit(lambda xx: jax.vmap(lambda v: jax.jvp(f, (xx,), (v,))[1])(Vj))
    compiled, t_compile = timed(lambda: g.lower(xj).compile())
    _, t_first = timed(compiled, xj)
    # No "first_call": this is a floor for the steady state, not a usable Jacobian.
    return {"colors": k, "compile": t_compile, "first_eval": t_first,
            "timers": {"steady": lambda: compiled(xj)}}


# ---------------------------------------------------------------------------------------
# peers


def run_asdex(N: int, x: np.ndarray, repeats: int, budget: float) -> dict[str, Any]:
    """asdex: its own detection and coloring, a jitted sparse Jacobian (BCOO output)."""
    try:
        import asdex
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise NotAvailable("asdex is not installed (pip install asdex)") from exc
    return asdex_pipeline(asdex, jax, "jacobian", problems.make_brusselator_jax(N, EVAL_TIME),
                          jnp.asarray(x))


def asdex_pipeline(asdex: Any, jax: Any, kind: str, f: Callable[[Any], Any],
                   xj: Any) -> dict[str, Any]:
    """asdex's own detect -> color -> jit -> first evaluation, each step timed.

    ``kind`` is ``"jacobian"`` or ``"hessian"`` (asdex's function names); the result is
    a benchmark row with the steady-state timer on the JAX array ``xj``.
    """
    detect = getattr(asdex, f"{kind}_sparsity")
    color = getattr(asdex, f"{kind}_coloring_from_sparsity")
    build = getattr(asdex, f"{kind}_from_coloring")
    pattern, t_detect = timed(detect, f, xj)
    colored, t_color = timed(color, pattern)
    jitted = jax.jit(build(f, colored))
    compiled, t_compile = timed(lambda: jitted.lower(xj).compile())
    result, t_first = timed(compiled, xj)
    return {"colors": int(colored.num_colors), "detect": t_detect, "color": t_color,
            "compile": t_compile, "first_eval": t_first,
            "first_call": t_detect + t_color + t_compile + t_first,
            "timers": {"steady": lambda: compiled(xj)}, "result": result}


def run_sparsejac(N: int, x: np.ndarray, P: sp.csr_array, repeats: int,
                  budget: float) -> dict[str, Any]:
    """sparsejac: given the exact pattern (it has no detection), networkx coloring."""
    try:
        import jax
        import jax.numpy as jnp
        import sparsejac
        from jax.experimental import sparse as jsparse
    except ImportError as exc:
        raise NotAvailable("sparsejac is not installed (pip install sparsejac)") from exc
    f = problems.make_brusselator_jax(N, EVAL_TIME)
    xj = jnp.asarray(x)
    t0 = time.perf_counter()
    S = jsparse.BCOO.from_scipy_sparse(sp.csr_matrix(P.astype(np.float64)))
    jac = jax.jit(sparsejac.jacfwd(f, S))
    t_color = time.perf_counter() - t0
    compiled, t_compile = timed(lambda: jac.lower(xj).compile())
    J, t_first = timed(compiled, xj)
    return {"colors": None, "detect": None, "color": t_color, "compile": t_compile,
            "first_eval": t_first, "first_call": t_color + t_compile + t_first,
            "timers": {"steady": lambda: compiled(xj)}, "result": J,
            "note": "exact pattern given (sparsejac has no detection)"}


def run_scipy(N: int, x: np.ndarray, P: sp.csr_array, repeats: int, budget: float,
              method: str = "2-point") -> dict[str, Any]:
    """scipy ``approx_derivative(sparsity=(P, groups))`` on the numpy Brusselator."""
    from scipy.optimize._numdiff import approx_derivative, group_columns

    f = problems.make_brusselator_numpy(N, EVAL_TIME)
    groups, t_color = timed(group_columns, sp.csc_matrix(P))
    J, t_first = timed(approx_derivative, f, x, method=method, sparsity=(P, groups))
    return {"colors": int(groups.max()) + 1, "color": t_color, "first_eval": t_first,
            "first_call": t_color + t_first, "result": J, "note": method,
            "timers": {"steady": lambda: approx_derivative(f, x, method=method,
                                                           sparsity=(P, groups))}}


def run_jacfwd(N: int, x: np.ndarray, repeats: int, budget: float,
               max_n: int) -> dict[str, Any]:
    """Dense ``jax.jit(jax.jacfwd(f))``, only while the dense matrix is small."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise NotAvailable("JAX is not installed") from exc
    if x.size > max_n:
        raise NotAvailable(f"dense n x n too large (n = {x.size} > --dense-max-n {max_n})")
    f = problems.make_brusselator_jax(N, EVAL_TIME)
    xj = jnp.asarray(x)
    jac = jax.jit(jax.jacfwd(f))
    compiled, t_compile = timed(lambda: jac.lower(xj).compile())
    J, t_first = timed(compiled, xj)
    return {"colors": int(x.size), "compile": t_compile, "first_eval": t_first,
            "first_call": t_compile + t_first, "timers": {"steady": lambda: compiled(xj)},
            "result": J}


# ---------------------------------------------------------------------------------------
# one grid size


def _describe_failure(exc: BaseException) -> str:
    """One line: the exception, where it happened (preferably in our packages), its message."""
    if isinstance(exc, (NotAvailable, _Deadline)):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    ours = [fr for fr in frames
            if any(f"{os.sep}{pkg}{os.sep}" in fr.filename
                   for pkg in ("tracer", "coloring", "sparsead"))]
    last = (ours or frames or [None])[-1]
    where = ""
    if last is not None:
        parts = Path(last.filename).parts
        where = f" at {'/'.join(parts[-2:])}:{last.lineno}"
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{where}: {msg}"[:240]


def run_new_process_first_calls(sizes: tuple[int, ...], backends: tuple[str, ...],
                                 progress: Progress | None = None) -> list[dict[str, Any]]:
    """Cold (empty Numba cache) and warm first calls of our backends, each in a new process.

    One row per (N, backend): ``cold`` and ``warm`` are detection + coloring + preparation
    + first evaluation; ``import_cold`` and ``import_warm`` the import of the packages
    before it. A backend that fails (not installed) gets an ``error`` instead.
    """
    rows = []
    for N in sizes:
        for backend in backends:
            row: dict[str, Any] = {"N": N, "n": 2 * N * N, "backend": backend}
            try:
                res = first_call.cold_and_warm(first_call.brusselator_case(N, backend))
            except Exception as exc:  # noqa: BLE001 - reported as a line
                row["error"] = _describe_failure(exc)
            else:
                row.update(cold=res["cold"]["run"], warm=res["warm"]["run"],
                           import_cold=res["cold"]["import"], import_warm=res["warm"]["import"])
            rows.append(row)
            if progress is not None:
                progress.step(f"N={N} {METHOD_LABELS[backend]} first call in new processes")
    return rows


def new_process_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per backend: its cold and warm first calls at every N."""
    lines = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        ok = [f"N={r['N']} cold {fmt_time(r['cold'])}, warm {fmt_time(r['warm'])}"
              for r in mine if "error" not in r]
        failed = [r for r in mine if "error" in r]
        text = "; ".join(ok) if ok else f"not available ({failed[0]['error']})"
        lines.append(f"- first call of {METHOD_LABELS[backend]} in a new process (imports "
                     f"excluded; cold: empty Numba cache, warm: the cache filled): {text}")
    return lines


def run_size(N: int, *, backends: tuple[str, ...], peers: tuple[str, ...], repeats: int,
             budget: float, dense_max_n: int, progress: Progress) -> dict[str, Any]:
    """All methods on one grid size; returns a JSON-ready dict (results stripped)."""
    x = _eval_point(N)
    exact = problems.brusselator_sparsity(N)
    n = x.size
    row_counts = np.diff(exact.indptr)
    col_counts = np.diff(sp.csc_array(exact).indptr)
    out: dict[str, Any] = {"N": N, "n": n, "nnz": int(exact.nnz),
                           "lower_bound_column": int(row_counts.max()),
                           "lower_bound_row": int(col_counts.max()), "methods": {}}
    methods = out["methods"]
    R = reference_jacobian(N, x, exact)
    timers: dict[tuple[str, str], Callable[[], Any]] = {}

    def record(key: str, fn: Callable[[], dict[str, Any]]) -> None:
        """Run one method; keep its numbers, its timers and its error, or why it failed."""
        record_method(key, fn, methods=methods, timers=timers, progress=progress,
                      label=f"N={N} {METHOD_LABELS[key].strip()}",
                      error_of=lambda J: relative_error(J, R),
                      describe_failure=_describe_failure,
                      summary=lambda res: "first call "
                      f"{fmt_time(res.get('first_call', res.get('compile')))}")

    # Our pipeline: detection and coloring once, shared by every backend. When the
    # tracer cannot run, the exact pattern is passed in instead and the tables say so.
    shared: dict[str, Any] = {}
    try:
        det = detect_pattern(N, x)
        out["detect"] = {k: v for k, v in det.items() if k != "pattern"}
    except Exception as exc:  # noqa: BLE001
        reason = _describe_failure(exc)
        det = {"pattern": exact, "time": None, "available": False, "reason": reason}
        out["detect"] = {"available": False, "reason": reason}
        progress.note(f"N={N} detection: not available: {reason}; using the exact pattern")
    shared["detect"] = det
    try:
        col = color_pattern(det["pattern"])
        shared["color"] = col
        out["coloring"] = {k: v for k, v in col.items() if k != "coloring"}
        progress.step(f"N={N} detection {fmt_time(det['time'])} (exact pattern: "
                      f"{det.get('exact', 'given')}), coloring {fmt_time(col['time'])}: "
                      f"{col['ncolors']} colors ({col['problem']})")
    except Exception as exc:  # noqa: BLE001
        shared["failure"] = _describe_failure(exc)
        progress.step(f"N={N} our pipeline: not available: {shared['failure']}")

    for backend in backends:
        if "failure" in shared:
            methods[backend] = {"available": False, "reason": shared["failure"]}
            progress.step(f"N={N} {METHOD_LABELS[backend]}: skipped")
            continue
        record(backend, lambda b=backend: run_ours(
            b, N, x, shared["detect"]["pattern"], shared["color"],
            shared["detect"]["time"], repeats, budget))

    if "jax" in backends:
        if "color" in shared:
            groups = _colors_as_groups(shared["color"]["coloring"], n)
        else:
            groups = _column_groups(exact)
        record("jax_jvp_only", lambda: run_jvp_only(N, x, groups, repeats, budget))

    peer_runs = {
        "asdex": lambda: run_asdex(N, x, repeats, budget),
        "sparsejac": lambda: run_sparsejac(N, x, exact, repeats, budget),
        "scipy": lambda: run_scipy(N, x, exact, repeats, budget),
        "jacfwd": lambda: run_jacfwd(N, x, repeats, budget, dense_max_n),
    }
    for peer in peers:
        record(peer, peer_runs[peer])

    # Steady state of every method in interleaved rounds, so that load changes on the
    # shared machine hit all methods alike and the ratios below are fair.
    if timers:
        measured = interleaved_steady(timers, repeats=repeats, max_time_per_fn=budget)
        for (key, field), m in measured.items():
            methods[key][field] = m["median"]
            if field == "steady":
                methods[key]["steady_min"] = m["min"]
                methods[key]["steady_samples"] = m["samples"]
        timers.clear()
        progress.step(f"N={N} steady state (interleaved): " + ", ".join(
            f"{METHOD_LABELS[k].strip()} {fmt_time(methods[k]['steady'])}"
            for k in methods if methods[k].get("available")))

    ref = methods.get("jax", {})
    if not ref.get("available"):
        ref = next((methods[b] for b in backends if methods.get(b, {}).get("available")), {})
    for res in methods.values():
        if res.get("available") and ref.get("available"):
            res["vs_ours"] = res["steady"] / ref["steady"]
    return out


def _colors_as_groups(result: Any, n: int) -> np.ndarray:
    """Column colors of a coloring result as seed groups (row colorings: scipy groups)."""
    colors = np.asarray(result.colors)
    if str(result.problem) == "column" and colors.size == n:
        return colors
    raise NotAvailable("our coloring is not a column coloring")


# ---------------------------------------------------------------------------------------
# stiff ODE solve


def make_rhs_numpy(N: int) -> Callable[[float, np.ndarray], np.ndarray]:
    """``f(t, y)`` for ``solve_ivp``: the two forcing regimes precomputed once."""
    before = problems.make_brusselator_numpy(N, 0.0)
    after = problems.make_brusselator_numpy(N, 1.1)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        return after(y) if t >= 1.1 else before(y)

    return rhs


def make_rhs_jax(N: int) -> Callable[[Any, Any], Any]:
    """``f(t, y)`` in ``jax.numpy`` for the ``"jax"`` backend (traceable in ``t``)."""
    import jax.numpy as jnp

    before = problems.make_brusselator_jax(N, 0.0)
    after = problems.make_brusselator_jax(N, 1.1)

    def rhs(t, y):
        return jnp.where(t >= 1.1, after(y), before(y))

    return rhs


class _Deadline(Exception):
    """Raised inside the right-hand side when a solve runs past its time limit."""


def _with_deadline(fun: Callable, deadline: float) -> Callable:
    """``fun`` that raises :class:`_Deadline` once ``time.perf_counter() > deadline``."""
    def wrapped(t, y):
        if time.perf_counter() > deadline:
            raise _Deadline("stopped at the time limit (--dense-ode-limit)")
        return fun(t, y)

    return wrapped


def run_ode(N: int, *, repeats: int, progress: Progress, dense: bool = True,
            backends: tuple[str, ...] = ("fd",),
            dense_time_limit: float | None = 60.0) -> dict[str, Any]:
    """Solve the stiff Brusselator with BDF three ways and compare the solutions.

    ``solve_ivp`` always calls the same numpy right-hand side; only the Jacobian differs:
    ours (one row per backend in ``backends``), scipy's ``jac_sparsity`` finite
    differences, and scipy's dense finite differences (dense LU: slow; stopped after
    ``dense_time_limit`` seconds so the whole benchmark stays within its budget).
    """
    from scipy.integrate import solve_ivp

    rhs = make_rhs_numpy(N)
    y0 = problems.brusselator_initial(N)
    t_eval = np.linspace(*ODE_TSPAN, 24)
    P = problems.brusselator_sparsity(N)
    common = dict(method="BDF", t_eval=t_eval, rtol=ODE_RTOL, atol=ODE_ATOL)
    out: dict[str, Any] = {"N": N, "n": y0.size, "t_span": list(ODE_TSPAN), "rtol": ODE_RTOL,
                           "atol": ODE_ATOL, "runs": {}}
    sols: dict[str, np.ndarray] = {}

    def solve_once(make_kwargs: Callable, time_limit: float | None):
        # Preparation (detection, coloring, compilation) counts in the wall time.
        t0 = time.perf_counter()
        kwargs, extra = make_kwargs()
        fun = rhs if time_limit is None else _with_deadline(rhs, t0 + time_limit)
        sol = solve_ivp(fun, ODE_TSPAN, y0, **common, **kwargs)
        wall = time.perf_counter() - t0
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        return sol, wall, (extra() if callable(extra) else extra)

    def solve_rounds(ways: list[tuple[str, str, Callable]], rounds: int,
                     time_limit: float | None = None) -> None:
        """Solve every way once per round (interleaved, so load hits all alike)."""
        walls: dict[str, list[float]] = {key: [] for key, _, _ in ways}
        last: dict[str, Any] = {}
        for _ in range(rounds):
            for key, label, make_kwargs in ways:
                if out["runs"].get(key, {}).get("available") is False:
                    continue
                try:
                    sol, wall, extra = solve_once(make_kwargs, time_limit)
                except Exception as exc:  # noqa: BLE001
                    reason = _describe_failure(exc)
                    if isinstance(exc, _Deadline):
                        reason = (f"stopped after {time_limit:g} s (--dense-ode-limit); "
                                  f"dense LU of n={y0.size}")
                    out["runs"][key] = {"label": label, "available": False, "reason": reason}
                    progress.step(f"ODE {label}: not available: {reason}")
                    continue
                walls[key].append(wall)
                last[key] = (sol, extra)
        for key, label, _ in ways:
            if key not in last:
                continue
            sol, extra = last[key]
            sols[key] = sol.y
            res = {"label": label, "available": True, "wall": float(np.median(walls[key])),
                   "walls": walls[key], "nfev": int(sol.nfev), "njev": int(sol.njev),
                   "nlu": int(sol.nlu), **(extra or {})}
            out["runs"][key] = res
            progress.step(f"ODE {label}: {fmt_time(res['wall'])}, nfev {res['nfev']}, "
                          f"njev {res['njev']}, nlu {res['nlu']}")

    def ours_kwargs(backend: str):
        tracer, _, sparsead = _import_ours("sparsead.ode_jacobian")

        calls = [0]
        base = make_rhs_jax(N) if backend == "jax" else rhs

        def counted(t, y):
            calls[0] += 1  # under jax.jit this counts traces, not evaluations
            return base(t, y)

        # Without the tracer, the exact pattern is given (and the label says so).
        given = None if hasattr(tracer, "jacobian_sparsity") else P
        t0 = time.perf_counter()
        jac = sparsead.ode_jacobian(counted, ODE_TSPAN[0], y0, backend=backend,
                                    sparsity=given)
        prep = time.perf_counter() - t0
        prep_calls = calls[0]
        state: dict[str, Any] = {"prepare": prep, "pattern_given": given is not None}

        def extra():
            ncol = getattr(jac, "ncolors", None)
            state["ncolors"] = None if ncol is None else int(ncol)
            state["f_calls_in_jac"] = calls[0] - prep_calls
            return state

        return {"jac": jac}, extra

    ways = [("ours" if b == backends[0] else f"ours_{b}", f"sparsead.ode_jacobian ({b})",
             (lambda b=b: ours_kwargs(b))) for b in backends]
    scipy_groups = int(_column_groups(P).max()) + 1
    ways.append(("jac_sparsity", "scipy jac_sparsity (FD)",
                 lambda: ({"jac_sparsity": P}, {"groups": scipy_groups})))
    solve_rounds(ways, repeats)
    for key, _, _ in ways:
        r = out["runs"].get(key, {})
        if r.get("available") and key == "ours" and backends[0] != "jax":
            r["f_calls_per_jac"] = (r["f_calls_in_jac"] / r["njev"]) if r["njev"] else None
    if dense:
        solve_rounds([("dense", "scipy dense FD", lambda: ({}, {"groups": y0.size}))], 1,
                     time_limit=dense_time_limit)

    ref_key = "jac_sparsity" if "jac_sparsity" in sols else next(iter(sols), None)
    if ref_key is not None:
        ref = sols[ref_key]
        scale = ODE_ATOL + ODE_RTOL * np.abs(ref)
        for key, y in sols.items():
            diff = np.abs(y - ref)
            out["runs"][key]["max_abs_diff"] = float(diff.max())
            out["runs"][key]["max_diff_in_tol"] = float((diff / scale).max())
        out["reference"] = ref_key
        out["max_abs_y"] = float(np.abs(ref).max())
    return out


# ---------------------------------------------------------------------------------------
# tables


TABLE_HEADER = ["method", "colors", "detect", "color", "compile", "1st eval", "1st call",
                "steady", "out=", "jax x", "steady/jax", "rel err"]


def size_rows(size: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Table rows for one grid size, plus the 'not available' lines."""
    rows, missing = [], []
    for key, res in size["methods"].items():
        label = METHOD_LABELS[key].strip()
        if not res.get("available"):
            missing.append(f"{label}: not available: {res.get('reason')}")
            continue
        err = res.get("rel_error")
        rows.append([
            label,
            "-" if res.get("colors") is None else str(res["colors"]),
            fmt_time(res.get("detect")), fmt_time(res.get("color")),
            fmt_time(res.get("compile")), fmt_time(res.get("first_eval")),
            fmt_time(res.get("first_call")), fmt_time(res.get("steady")),
            fmt_time(res.get("steady_out")), fmt_time(res.get("steady_jax_x")),
            fmt_ratio(res.get("vs_ours")), "-" if err is None else f"{err:.0e}",
        ])
    return rows, missing


def size_title(size: dict[str, Any]) -> str:
    """Title line of one grid size: n, nnz, our colors and the lower bound."""
    col = size.get("coloring", {})
    ours = (f"ours {col['ncolors']} colors ({col['problem']}), " if col else "")
    return (f"Brusselator N={size['N']}: n={size['n']}, nnz={size['nnz']}, {ours}"
            f"lower bound {size['lower_bound_column']}")


def ode_rows(ode: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Rows of the stiff-solve table, plus the 'not available' lines."""
    rows, missing = [], []
    for res in ode["runs"].values():
        if not res.get("available"):
            missing.append(f"{res['label']}: not available: {res.get('reason')}")
            continue
        per_jac = res.get("ncolors") or res.get("groups")
        rows.append([res["label"], fmt_time(res["wall"]), fmt_time(res.get("prepare")),
                     str(res["nfev"]), str(res["njev"]),
                     str(res["nlu"]), "-" if per_jac is None else str(per_jac),
                     f"{res.get('max_abs_diff', float('nan')):.1e}",
                     f"{res.get('max_diff_in_tol', float('nan')):.2g}"])
    return rows, missing


ODE_HEADER = ["Jacobian", "wall", "of which prepare", "nfev", "njev", "nlu", "JVPs/jac",
              "max abs dy", "max abs dy / tol"]


def summary_table(results: dict[str, Any], markdown: bool = True) -> str:
    """One compact table over all sizes: steady-state per N, first call at the largest N."""
    sizes = results["sizes"]
    if not sizes:
        return ""
    big = sizes[-1]
    header = (["method", "colors"] + [f"steady N={s['N']}" for s in sizes]
              + [f"out= N={big['N']}", f"1st call N={big['N']}", f"steady/jax N={big['N']}"])
    rows = []
    for key, label in METHOD_LABELS.items():
        per = [s["methods"].get(key, {}) for s in sizes]
        if not any(r.get("available") for r in per):
            continue
        colors = next((r.get("colors") for r in reversed(per) if r.get("available")), None)
        last = big["methods"].get(key, {})
        rows.append([label.strip(), "-" if colors is None else str(colors)]
                    + [fmt_time(r.get("steady")) if r.get("available") else "n/a" for r in per]
                    + [fmt_time(last.get("steady_out")),
                       fmt_time(last.get("first_call")) if last.get("available") else "n/a",
                       fmt_ratio(last.get("vs_ours"))])
    return (markdown_table if markdown else text_table)(header, rows)


def render_readme(results: dict[str, Any]) -> str:
    """The README's results section: summary, stiff solve and targets, in markdown."""
    meta = results["meta"]
    parts = [f"Run of `python -m benchmarks.brusselator` on {meta['date']}, {meta['machine']}"
             f" (load average {meta['loadavg']}{pinning_note(meta)}); "
             f"times are medians of repeats, ratios are "
             f"measured in the same process. `steady` is `J(x)` (a new scipy matrix), `out=` "
             f"is `J(x, out=M)` (refills `M.data` in place).", "",
             summary_table(results, markdown=True), ""]
    missing = {}
    for size in results["sizes"]:
        for key, res in size["methods"].items():
            if not res.get("available"):
                missing.setdefault(METHOD_LABELS[key].strip(), []).append(
                    (size["N"], res.get("reason")))
    for label, items in missing.items():
        parts.append(f"- {label}: not available at N = {', '.join(str(N) for N, _ in items)}"
                     f" ({items[-1][1]})")
    split = []
    big = results["sizes"][-1]
    for key in ("jax", "fd", "asdex", "sparsejac"):
        r = big["methods"].get(key, {})
        if r.get("available"):
            steps = ", ".join(f"{name} {fmt_time(r.get(field))}" for field, name in
                              (("detect", "detect"), ("color", "color"), ("compile", "prepare"),
                               ("first_eval", "first evaluation")) if r.get(field) is not None)
            split.append(f"- first call of {METHOD_LABELS[key]} at N={big['N']}: {steps}")
    if split:
        parts += [""] + split
    if results.get("new_process"):
        parts += [""] + new_process_lines(results["new_process"])
    jx = [(sz["N"], sz["methods"].get("jax", {}).get("steady_jax_x")) for sz in results["sizes"]]
    if any(t is not None for _, t in jx):
        parts += ["", "- sparsead[jax] `J(x)` with `x` a JAX array, the input the peers and the "
                      "floor get (a numpy `x` adds one host-to-device copy): " + ", ".join(
                          f"{fmt_time(t)} at N={N}" for N, t in jx if t is not None)]
    if results.get("ode"):
        ode = results["ode"]
        rows, missing_ode = ode_rows(ode)
        parts += ["", f"Stiff solve, `solve_ivp(method=\"BDF\")`, N={ode['N']} (n={ode['n']}), "
                      f"t in {ode['t_span']}, rtol={ode['rtol']}, atol={ode['atol']}; "
                      f"max abs dy against the `{ode.get('reference')}` solution at 24 times "
                      f"(tol = atol + rtol abs y) "
                      f"(max |y| = {ode.get('max_abs_y', float('nan')):.3g}):", "",
                  markdown_table(ODE_HEADER, rows), ""]
        parts.extend(f"- {line}" for line in missing_ode)
    if results.get("targets"):
        parts += ["", "Targets of the issue, checked on this run:", ""]
        parts += target_lines(results["targets"])
    return "\n".join(parts)


README_PATH = Path(__file__).resolve().parent.parent / "README.md"
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def readme_section(results: dict[str, Any]) -> str:
    """What goes between the README's results markers: the tables and the figure links."""
    return "\n".join([
        README_START,
        "Generated by `python -m benchmarks.brusselator --docs --update-readme` from "
        "[`docs/brusselator.json`](docs/brusselator.json); do not edit by hand.",
        "",
        render_readme(results),
        "",
        "![Brusselator Jacobian pattern colored by column color]"
        "(docs/brusselator_pattern.png)",
        "![time against n for every method](docs/brusselator_scaling.png)",
        README_END,
    ])


def update_readme(results: dict[str, Any], path: Path = README_PATH) -> None:
    """Replace the README's results section with the one rendered from ``results``."""
    replace_readme_section(path, README_START, README_END, readme_section(results))


def render(results: dict[str, Any], markdown: bool = False) -> str:
    """All tables as plain text (terminal) or markdown (README)."""
    table = markdown_table if markdown else text_table
    parts = []
    meta = results["meta"]
    bold = "**" if markdown else ""
    parts.append(f"{bold}sparsead Brusselator benchmark{bold}"
                 f" - {meta['date']}, {meta['machine']}, load average {meta['loadavg']}"
                 f"{pinning_note(meta)}")
    for size in results["sizes"]:
        rows, missing = size_rows(size)
        parts.append(("\n#### " if markdown else "\n") + size_title(size))
        parts.append(table(TABLE_HEADER, rows))
        for line in missing:
            parts.append(("- " if markdown else "  ") + line)
    if results.get("new_process"):
        parts.append("")
        parts.extend(new_process_lines(results["new_process"]))
    if results.get("ode"):
        ode = results["ode"]
        rows, missing = ode_rows(ode)
        parts.append(("\n#### " if markdown else "\n")
                     + f"Stiff solve: solve_ivp BDF, N={ode['N']} (n={ode['n']}), t in "
                     f"{ode['t_span']}, rtol={ode['rtol']}, atol={ode['atol']}; max abs dy vs "
                     f"{ode.get('reference')} (max |y| = {ode.get('max_abs_y', float('nan')):.3g})")
        parts.append(table(ODE_HEADER, rows))
        for line in missing:
            parts.append(("- " if markdown else "  ") + line)
    if results.get("targets"):
        parts.append(("\n#### " if markdown else "\n") + "Targets")
        for t in results["targets"]:
            mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            parts.append(("- " if markdown else "  ") + f"[{mark}] {t['target']}: {t['measured']}")
    return "\n".join(parts)


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, evaluated on this run (ratios measured in the same process)."""
    targets = []
    by_n = {s["N"]: s for s in results["sizes"]}
    big = by_n.get(128) or (results["sizes"][-1] if results["sizes"] else None)
    if big:
        m = big["methods"]
        ok = lambda k: m.get(k, {}).get("available", False)  # noqa: E731
        if ok("jax"):
            jx = m["jax"].get("steady_jax_x")
            peers = [m[k]["steady"] for k in ("asdex", "sparsejac") if ok(k)]
            if peers:
                checks = [("J(x), x a JAX array like the peers'", jx),
                          ("J(x), x a numpy array (one more host-to-device copy)",
                           m["jax"]["steady"]),
                          ("in place J(x, out=M), numpy x", m["jax"].get("steady_out"))]
                for what, t in checks:
                    if t is not None:
                        targets.append({"target": f"N={big['N']} jax steady, {what}, <= "
                                                  f"faster of asdex/sparsejac",
                                        "measured": f"{fmt_time(t)} vs {fmt_time(min(peers))}",
                                        "met": bool(t <= min(peers))})
            if ok("jax_jvp_only"):
                floor = m["jax_jvp_only"]["steady"]
                same = jx if jx is not None else m["jax"]["steady"]
                r = same / floor
                targets.append({"target": f"N={big['N']} jax total <= 1.3x vmapped JVP alone "
                                          f"(both on a JAX-array x)",
                                "measured": f"{r:.2f}x (numpy x: "
                                            f"{m['jax']['steady'] / floor:.2f}x)",
                                "met": bool(r <= 1.3)})
            targets.append({"target": f"N={big['N']} jax first call <= 0.5 s",
                            "measured": fmt_time(m["jax"]["first_call"]),
                            "met": bool(m["jax"]["first_call"] <= 0.5)})
        if ok("fd") and ok("scipy"):
            r = m["fd"]["steady"] / m["scipy"]["steady"]
            targets.append({"target": f"N={big['N']} fd <= 0.5x scipy approx_derivative",
                            "measured": f"{r:.2f}x", "met": bool(r <= 0.5)})
    ode = results.get("ode")
    if ode:
        runs = ode["runs"]
        a, b = runs.get("ours", {}), runs.get("jac_sparsity", {})
        if a.get("available") and b.get("available"):
            targets.append({"target": "BDF with ode_jacobian faster than jac_sparsity",
                            "measured": f"{fmt_time(a['wall'])} vs {fmt_time(b['wall'])}",
                            "met": bool(a["wall"] < b["wall"])})
            targets.append({"target": "njev: ours not more than jac_sparsity",
                            "measured": f"{a['njev']} vs {b['njev']}",
                            "met": a["njev"] <= b["njev"]})
            jv = a.get("ncolors") or a.get("f_calls_per_jac")
            targets.append({"target": "<= 10 JVPs per Jacobian",
                            "measured": "?" if jv is None else f"{jv:g}",
                            "met": None if jv is None else bool(jv <= 10)})
    cold32 = [r for r in results.get("new_process") or []
              if r["N"] == 32 and r["backend"] == "fd" and "error" not in r]
    if cold32:
        targets.append({"target": "N=32 fd cold first call (new process, empty Numba cache, "
                                  "imports excluded) < 3 s",
                        "measured": fmt_time(cold32[0]["cold"]),
                        "met": bool(cold32[0]["cold"] < 3.0)})
    return targets


# ---------------------------------------------------------------------------------------
# plots


def plot_pattern(path: Path, N: int = 8) -> str:
    """Jacobian pattern of the N x N Brusselator, each nonzero colored by its column color."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    P = problems.brusselator_sparsity(N)
    source = "sparsead"
    try:
        _, coloring, _ = _import_ours()
        colored = color_pattern(P)["coloring"]
        colors = _colors_as_groups(colored, P.shape[1])
    except Exception:  # noqa: BLE001 - fall back to scipy's grouping, and say so
        colors = _column_groups(P)
        source = "scipy group_columns (ours not available)"
    C = sp.coo_array(P)
    k = int(colors.max()) + 1
    fig, ax = plt.subplots(figsize=(4.6, 4.6), dpi=90)
    # tab10 has no pale colors; tab20 only when more colors are needed
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20", max(k, 2))
    ax.scatter(C.col, C.row, c=colors[C.col], cmap=cmap, vmin=-0.5, vmax=k - 0.5,
               s=7, marker="s", linewidths=0)
    ax.set_xlim(-0.5, P.shape[1] - 0.5)
    ax.set_ylim(P.shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_title(f"Brusselator N={N}: n={P.shape[1]}, nnz={P.nnz}\n"
                 f"{k} column colors ({source})", fontsize=9)
    ax.set_xlabel("column (u then v)", fontsize=8)
    ax.set_ylabel("row", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


def plot_scaling(path: Path, results: dict[str, Any]) -> str:
    """Log-log first-call and steady-state time against n for every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=72)
    palette = plt.get_cmap("tab10")
    all_n = sorted({s["n"] for s in results["sizes"]})
    new_process = [r for r in results.get("new_process") or [] if "error" not in r]
    first_title = ("first call (detect + color + compile + eval)\nours in a new process, "
                   "warm (solid) and\ncold = empty Numba cache (dotted)" if new_process else
                   "first call (detect + color + compile + eval)")
    for ax, field, title in ((axes[0], "first_call", first_title),
                             (axes[1], "steady", "steady state (median of repeats)")):
        for i, (key, label) in enumerate(METHOD_LABELS.items()):
            style = "-o" if key in OUR_BACKENDS else ("--s" if key != "jax_jvp_only" else ":")
            mine = [r for r in new_process if r["backend"] == key]
            if field == "first_call" and mine:
                ns = [r["n"] for r in mine]
                ax.loglog(ns, [r["warm"] for r in mine], style, markersize=4,
                          label=f"{label.strip()} warm", color=palette(i))
                ax.loglog(ns, [r["cold"] for r in mine], ":x", markersize=4,
                          label=f"{label.strip()} cold", color=palette(i))
                continue
            pts = [(s["n"], s["methods"][key][field]) for s in results["sizes"]
                   if s["methods"].get(key, {}).get("available")
                   and s["methods"][key].get(field) is not None]
            if not pts:
                continue
            ns, ts = zip(*pts)
            ax.loglog(ns, ts, style, label=label.strip(), markersize=4, color=palette(i))
        ax.set_xticks(all_n)
        ax.set_xticklabels([str(n) for n in all_n])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("n (unknowns)")
        ax.set_ylabel("seconds")
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6, loc="best")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"Brusselator sparse Jacobian ({results['meta']['date']}, "
                 f"{results['meta']['machine']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


# ---------------------------------------------------------------------------------------
# driver


def machine_description() -> dict[str, Any]:
    """Date, CPU count, load and versions, so a table can be judged later."""
    try:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__}
    for mod in ("jax", "torch", "asdex", "sparsejac", "numba"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional packages
            versions[mod] = None
    return {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {os.cpu_count()}-core {platform.system()}",
            "cpu_count": os.cpu_count(), "loadavg": load, "versions": versions}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.brusselator",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help="grid sizes N (default 32 64 128; --quick: 6 8)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny sizes, few repeats, small ODE")
    p.add_argument("--repeats", type=int, default=None, help="repeats per median (default 21)")
    p.add_argument("--budget", type=float, default=None,
                   help="soft cap in seconds per steady-state measurement (default 1.5)")
    p.add_argument("--backends", nargs="+", default=list(OUR_BACKENDS), choices=OUR_BACKENDS)
    p.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    p.add_argument("--dense-max-n", type=int, default=2048,
                   help="largest n for dense jax.jacfwd (default 2048)")
    p.add_argument("--ode-size", type=int, default=None,
                   help="N of the stiff solve (default 32; --quick: 8); 0 skips it")
    p.add_argument("--ode-backends", nargs="+", default=["fd", "jax"], choices=OUR_BACKENDS,
                   help="our backends in the stiff solve (default fd jax)")
    p.add_argument("--no-dense-ode", action="store_true",
                   help="skip the slow dense finite-difference solve")
    p.add_argument("--dense-ode-limit", type=float, default=60.0,
                   help="stop the dense finite-difference solve after this many seconds")
    p.add_argument("--json", type=Path, default=RESULTS_DIR / "brusselator.json",
                   help="where to write the results (default benchmarks/results/)")
    p.add_argument("--plot-dir", type=Path, default=None,
                   help="folder for the PNGs (default: next to the JSON)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--docs", action="store_true",
                   help="also copy the JSON and PNGs to docs/ for the README")
    p.add_argument("--readme", action="store_true",
                   help="print the README's markdown results section instead of the tables")
    p.add_argument("--update-readme", action="store_true",
                   help="rewrite the README's results section from this run (or --from-json)")
    p.add_argument("--from-json", type=Path, default=None,
                   help="do not run; print the tables of an earlier run's JSON")
    p.add_argument("--cold-backends", nargs="*", default=None, choices=OUR_BACKENDS,
                   help="our backends whose first call is also measured in new processes, "
                        "cold (empty Numba cache) and warm (default fd jax; --quick: none)")
    p.add_argument("--pin-cpu", type=int, default=None, metavar="CPU",
                   help="run on this one CPU only, as the issue's peer figures were measured")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the tables, write JSON and PNGs; return the results."""
    args = parse_args(argv)
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
        print(render_readme(results) if args.readme else render(results))
        if args.update_readme:
            update_readme(results)
        return results

    pinned = pin_to_cpu(args.pin_cpu)  # before JAX creates its thread pool
    _enable_jax_x64()
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    repeats = args.repeats or (3 if args.quick else 21)
    budget = args.budget or (0.2 if args.quick else 1.5)
    ode_size = args.ode_size if args.ode_size is not None else (8 if args.quick else 32)
    backends = tuple(args.backends)
    peers = tuple(args.peers)
    cold_backends = tuple(args.cold_backends if args.cold_backends is not None
                          else (() if args.quick else ("fd", "jax")))

    steps = len(sizes) * (2 + len(backends) + ("jax" in backends) + len(peers))
    steps += (2 + len(args.ode_backends) if ode_size else 0)
    steps += len(sizes) * len(cold_backends)
    progress = Progress(total=steps, enabled=not args.quiet)
    t_start = time.perf_counter()
    results: dict[str, Any] = {"meta": machine_description(), "sizes": [], "ode": None}
    results["meta"].update({"pinned_cpu": pinned, "repeats": repeats, "budget_s": budget,
                            "eval_time": EVAL_TIME})
    try:
        for N in sizes:
            results["sizes"].append(run_size(N, backends=backends, peers=peers,
                                             repeats=repeats, budget=budget,
                                             dense_max_n=args.dense_max_n,
                                             progress=progress))
        if cold_backends:
            results["new_process"] = run_new_process_first_calls(sizes, cold_backends,
                                                                 progress)
        if ode_size:
            results["ode"] = run_ode(ode_size, repeats=1 if args.quick else 3,
                                     progress=progress, dense=not args.no_dense_ode,
                                     backends=tuple(args.ode_backends),
                                     dense_time_limit=args.dense_ode_limit)
    finally:
        progress.close()
    results["targets"] = check_targets(results)
    results["meta"]["total_seconds"] = time.perf_counter() - t_start

    args.json.parent.mkdir(parents=True, exist_ok=True)
    plot_dir = args.plot_dir or args.json.parent
    results["files"] = {"json": str(args.json)}
    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("plots skipped: matplotlib is not installed (pip install sparsead[plot])",
                  file=sys.stderr)
        else:
            plot_dir.mkdir(parents=True, exist_ok=True)
            results["files"]["pattern_png"] = plot_pattern(plot_dir / "brusselator_pattern.png")
            results["files"]["scaling_png"] = plot_scaling(plot_dir / "brusselator_scaling.png",
                                                           results)
    text = json.dumps(results, indent=1, default=_json_default)
    args.json.write_text(text)
    if args.docs:
        DOCS_DIR.mkdir(exist_ok=True)
        (DOCS_DIR / "brusselator.json").write_text(text)
        for key in ("pattern_png", "scaling_png"):
            if key in results["files"]:
                src = Path(results["files"][key])
                (DOCS_DIR / src.name).write_bytes(src.read_bytes())

    print(render_readme(results) if args.readme else render(results))
    if args.update_readme:
        update_readme(results)
    print(f"\nresults: {args.json}" + "".join(f", {v}" for k, v in results["files"].items()
                                              if k != "json")
          + f" ({results['meta']['total_seconds']:.0f} s)")
    return results


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


if __name__ == "__main__":
    main(sys.argv[1:])
