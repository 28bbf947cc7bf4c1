"""Sparse Hessians: detection, star vs acyclic coloring, evaluation, next to asdex.

Run from the repository root::

    python -m benchmarks.hessian            # Brusselator N = 32, 64;
                                            # Rosenbrock, arrowhead n = 1e4, 1e5
    python -m benchmarks.hessian --quick    # tiny smoke run
    python -m benchmarks.hessian --readme   # markdown tables

Cases: the Brusselator objective ``sum(f(u)**2)``, the chained Rosenbrock (tridiagonal
Hessian) and the arrowhead (diagonal plus a dense last row and column). For each case it
reports the detected pattern (and whether it equals the exact one), the colors and
coloring time of star coloring (direct decompression, the default) and acyclic coloring
(decompression by substitution), and first-call and steady-state Hessian times of our
``jax`` backend (both colorings), our ``fd`` backend (finite differences of a gradient),
asdex where installed, and dense ``jax.hessian`` while it is small. Each result is checked
against an independent reference (dense ``jax.hessian`` or a JAX HVP per column group).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from benchmarks import problems
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
from benchmarks.brusselator import (
    NotAvailable,
    _describe_failure,
    _enable_jax_x64,
    _import_ours,
    _json_default,
    _to_csr,
    add_jax_array_timer,
    asdex_pipeline,
    machine_description,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_CASES = ("brusselator:32", "brusselator:64", "rosenbrock:10000", "rosenbrock:100000",
                 "arrowhead:10000", "arrowhead:100000")
QUICK_CASES = ("brusselator:4", "rosenbrock:50", "arrowhead:50")

METHOD_LABELS = {
    "jax_star": "sparsead[jax] star",
    "jax_acyclic": "sparsead[jax] acyclic",
    "fd_star": "sparsead[fd] star (grad)",
    "asdex": "asdex",
    "jax_hessian": "jax.hessian (dense)",
}


# ---------------------------------------------------------------------------------------
# cases


class Case:
    """One scalar objective in numpy and JAX, its gradient, exact pattern and a point."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        if name == "brusselator":
            N = size
            self.label = f"Brusselator sum(f^2) N={N}"
            self.x = problems.brusselator_initial(N) + 0.1 * np.random.default_rng(N).random(
                2 * N * N)
            self.g_np = problems.brusselator_objective_numpy(N, 2.0)
            P = problems.brusselator_sparsity(N).astype(np.int32)
            self.exact = sp.csr_array((P.T @ P) != 0)  # H = 2 J^T J + curvature terms

            def g_jax(y):
                f = problems.make_brusselator_jax(N, 2.0)
                r = f(y)
                return (r * r).sum()

            self.g_jax = g_jax
            self.grad_np = None  # the fd backend gets JAX's gradient (see grad())
        elif name == "rosenbrock":
            n = size
            self.label = f"chained Rosenbrock n={n}"
            self.x = np.linspace(-1.2, 1.0, n)
            self.g_np = problems.chained_rosenbrock
            self.exact = problems.rosenbrock_hessian_sparsity(n)
            self.g_jax = _rosenbrock_jax
            self.grad_np = _rosenbrock_grad
        elif name == "arrowhead":
            n = size
            self.label = f"arrowhead n={n}"
            self.x = np.linspace(0.5, 1.5, n)
            self.g_np = problems.arrowhead
            self.exact = problems.arrowhead_hessian_sparsity(n)
            self.g_jax = _arrowhead_jax
            self.grad_np = _arrowhead_grad
        else:
            raise ValueError(f"unknown case {name!r}: use brusselator, rosenbrock or arrowhead")
        self.n = self.x.size

    def grad(self) -> Callable[[np.ndarray], np.ndarray]:
        """Numpy gradient for the fd backend (analytic, else jitted JAX)."""
        if self.grad_np is not None:
            return self.grad_np
        import jax
        import jax.numpy as jnp

        gj = jax.jit(jax.grad(self.g_jax))
        return lambda x: np.asarray(gj(jnp.asarray(x)))


def _rosenbrock_jax(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def _arrowhead_jax(x):
    return ((x[:-1] ** 2 + x[-1] ** 2) ** 2).sum()


def _rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def _arrowhead_grad(x: np.ndarray) -> np.ndarray:
    s = x[:-1] ** 2 + x[-1] ** 2
    g = np.empty_like(x)
    g[:-1] = 4.0 * s * x[:-1]
    g[-1] = 4.0 * x[-1] * s.sum()
    return g


def _rosenbrock_hessian(x: np.ndarray) -> sp.csr_array:
    """Analytic Hessian of the chained Rosenbrock (tridiagonal)."""
    n = x.size
    d = np.zeros(n)
    d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    off = -400.0 * x[:-1]
    return sp.csr_array(sp.diags_array([off, d, off], offsets=[-1, 0, 1]))


def _arrowhead_hessian(x: np.ndarray) -> sp.csr_array:
    """Analytic Hessian of the arrowhead objective (diagonal plus last row and column)."""
    n, z = x.size, x[-1]
    xi = x[:-1]
    s = xi**2 + z**2
    i = np.arange(n - 1)
    rows = np.concatenate([i, i, np.full(n - 1, n - 1), [n - 1]])
    cols = np.concatenate([i, np.full(n - 1, n - 1), i, [n - 1]])
    vals = np.concatenate([8.0 * xi**2 + 4.0 * s, 8.0 * xi * z, 8.0 * xi * z,
                           [np.sum(8.0 * z**2 + 4.0 * s)]])
    return sp.csr_array((vals, (rows, cols)), shape=(n, n))


def reference_hessian(case: Case) -> sp.csr_array | None:
    """Exact Hessian on the exact pattern, without our packages.

    Analytic for the Rosenbrock and arrowhead cases; for the Brusselator, JAX HVPs on
    scipy's structurally orthogonal column groups (direct recovery, no coloring of ours).
    """
    if case.name == "rosenbrock":
        return _rosenbrock_hessian(case.x)
    if case.name == "arrowhead":
        return _arrowhead_hessian(case.x)
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    from scipy.optimize._numdiff import group_columns

    H = case.exact
    groups = np.asarray(group_columns(sp.csc_matrix(H)))  # distance-2 groups: direct
    k = int(groups.max()) + 1
    xj = jnp.asarray(case.x)
    grad = jax.grad(case.g_jax)
    hvp = jax.jit(jax.vmap(lambda v: jax.jvp(grad, (xj,), (v,))[1]))
    C = sp.coo_array(H)
    vals = np.empty(C.nnz)
    for start in range(0, k, 16):  # chunks keep the seed matrix small for large n
        stop = min(k, start + 16)
        V = np.zeros((stop - start, case.n))
        sel = (groups >= start) & (groups < stop)
        V[groups[sel] - start, np.nonzero(sel)[0]] = 1.0
        HV = np.asarray(hvp(jnp.asarray(V)))
        mask = (groups[C.col] >= start) & (groups[C.col] < stop)
        vals[mask] = HV[groups[C.col[mask]] - start, C.row[mask]]
    return sp.csr_array((vals, (C.row, C.col)), shape=H.shape)


def relative_error(H: Any, R: sp.csr_array | None, uplo_full: bool = True) -> float | None:
    """``max |H - R| / max |R|``; a triangle-only H is symmetrised first."""
    if R is None:
        return None
    A = _to_csr(H, R.shape)
    if A.nnz and (sp.triu(A, 1).nnz == 0 or sp.tril(A, -1).nnz == 0) and R.nnz > R.shape[0]:
        A = A + sp.triu(A, 1).T + sp.tril(A, -1).T
    D = A - R
    scale = float(np.abs(R.data).max()) if R.nnz else 1.0
    return float(np.abs(D.data).max()) / scale if D.nnz else 0.0


# ---------------------------------------------------------------------------------------
# methods


def detect(case: Case) -> dict[str, Any]:
    """``tracer.hessian_sparsity`` on the numpy objective, checked against the exact one."""
    tracer, _, _ = _import_ours("tracer.hessian_sparsity")
    H, t = timed(tracer.hessian_sparsity, case.g_np, case.x)
    H = sp.csr_array(H)
    missing = int((case.exact.astype(np.int8) - H.astype(np.int8) > 0).sum())
    return {"pattern": H, "time": t, "nnz": int(H.nnz), "missing": missing,
            "exact": bool(missing == 0 and H.nnz == case.exact.nnz)}


def color_symmetric(H: sp.csr_array, problem: str) -> dict[str, Any]:
    """Star or acyclic coloring the way ``sparsead.prepare_hessian`` does by default."""
    _, coloring, _ = _import_ours("coloring.color")
    t0 = time.perf_counter()
    try:
        from sparsead._choose_coloring import choose_hessian_coloring
    except ImportError:
        orders = tuple(getattr(coloring, "BEST_ORDERS", ("largest_first", "smallest_last")))
        result = coloring.color(H, problem, orders)
    else:
        result = choose_hessian_coloring(H, problem).coloring
    return {"coloring": result, "time": time.perf_counter() - t0,
            "ncolors": int(result.ncolors)}


def run_ours(case: Case, backend: Any, f: Callable, H: sp.csr_array, colored: dict,
             detect_time: float, repeats: int, budget: float) -> dict[str, Any]:
    """First-call split and steady state of ``sparsead.prepare_hessian``."""
    _, _, sparsead = _import_ours("sparsead.prepare_hessian")
    row: dict[str, Any] = {"detect": detect_time, "color": colored["time"]}
    Hf, row["compile"] = timed(sparsead.prepare_hessian, f, case.x, backend=backend,
                               sparsity=H, coloring=colored["coloring"])
    row["colors"] = int(getattr(Hf, "ncolors", colored["ncolors"]))
    M, row["first_eval"] = timed(Hf, case.x)
    row["first_call"] = row["detect"] + row["color"] + row["compile"] + row["first_eval"]
    row["timers"] = {"steady": lambda: Hf(case.x)}
    try:  # in-place refill, the form an optimizer loop uses
        Hf(case.x, out=M.copy())
        row["timers"]["steady_out"] = lambda: Hf(case.x, out=M)
    except Exception:  # noqa: BLE001 - optional feature, reported as missing
        row["steady_out"] = None
    if getattr(backend, "name", backend) == "jax":
        add_jax_array_timer(row, Hf, case.x, M)
    row["result"] = M.copy()
    return row


def run_asdex(case: Case, repeats: int, budget: float) -> dict[str, Any]:
    """asdex: its own Hessian detection and star coloring, jitted (BCOO output)."""
    try:
        import asdex
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise NotAvailable("asdex is not installed (pip install asdex)") from exc
    return asdex_pipeline(asdex, jax, "hessian", case.g_jax, jnp.asarray(case.x))


def run_dense(case: Case, repeats: int, budget: float, max_n: int) -> dict[str, Any]:
    """Dense ``jax.jit(jax.hessian(g))`` while n is small."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise NotAvailable("JAX is not installed") from exc
    if case.n > max_n:
        raise NotAvailable(f"dense n x n too large (n = {case.n} > --dense-max-n {max_n})")
    xj = jnp.asarray(case.x)
    hess = jax.jit(jax.hessian(case.g_jax))
    compiled, t_compile = timed(lambda: hess.lower(xj).compile())
    Hm, t_first = timed(compiled, xj)
    return {"colors": case.n, "compile": t_compile, "first_eval": t_first,
            "first_call": t_compile + t_first, "timers": {"steady": lambda: compiled(xj)},
            "result": Hm}


def run_case(case: Case, *, repeats: int, budget: float, dense_max_n: int,
             progress: Progress) -> dict[str, Any]:
    """All methods on one case; returns a JSON-ready dict."""
    out: dict[str, Any] = {"case": case.name, "size": case.size, "label": case.label,
                           "n": case.n, "nnz": int(case.exact.nnz), "methods": {}}
    methods = out["methods"]
    timers: dict[tuple[str, str], Callable[[], Any]] = {}
    try:
        R = reference_hessian(case)
    except Exception as exc:  # noqa: BLE001
        R = None
        out["reference_failure"] = _describe_failure(exc)

    def record(key: str, fn: Callable[[], dict[str, Any]]) -> None:
        """Run one method; keep its numbers, its timers and its error, or why it failed."""
        record_method(key, fn, methods=methods, timers=timers, progress=progress,
                      label=f"{case.label} {METHOD_LABELS[key]}",
                      error_of=lambda Hm: relative_error(Hm, R),
                      describe_failure=_describe_failure,
                      summary=lambda res: f"{res.get('colors')} colors, first call "
                      f"{fmt_time(res.get('first_call'))}")

    shared: dict[str, Any] = {}
    try:
        det = detect(case)
        shared["detect"] = det
        out["detect"] = {k: v for k, v in det.items() if k != "pattern"}
        for problem in ("star", "acyclic"):
            try:
                shared[problem] = color_symmetric(det["pattern"], problem)
                out[problem] = {k: v for k, v in shared[problem].items() if k != "coloring"}
            except Exception as exc:  # noqa: BLE001
                shared[problem] = None
                out[problem] = {"available": False, "reason": _describe_failure(exc)}
        progress.step(f"{case.label}: detection {fmt_time(det['time'])} (exact {det['exact']}), "
                      f"star {out['star'].get('ncolors', '-')} colors, acyclic "
                      f"{out['acyclic'].get('ncolors', '-')} colors")
    except Exception as exc:  # noqa: BLE001
        shared["failure"] = _describe_failure(exc)
        progress.step(f"{case.label} our pipeline: not available: {shared['failure']}")

    def ours(backend_factory: Callable[[], Any], f: Callable, problem: str):
        def go():
            if "failure" in shared:
                raise NotAvailable(shared["failure"])
            if shared.get(problem) is None:
                raise NotAvailable(out[problem]["reason"])
            return run_ours(case, backend_factory(), f, shared["detect"]["pattern"],
                            shared[problem], shared["detect"]["time"], repeats, budget)
        return go

    def fd_backend():
        from sparsead.backends import get_backend

        return get_backend("fd", grad=case.grad())

    record("jax_star", ours(lambda: "jax", case.g_jax, "star"))
    record("jax_acyclic", ours(lambda: "jax", case.g_jax, "acyclic"))
    record("fd_star", ours(fd_backend, case.g_np, "star"))
    record("asdex", lambda: run_asdex(case, repeats, budget))
    record("jax_hessian", lambda: run_dense(case, repeats, budget, dense_max_n))

    # Steady state in interleaved rounds (fair ratios on a loaded machine).
    if timers:
        measured = interleaved_steady(timers, repeats=repeats, max_time_per_fn=budget)
        for (key, field), m in measured.items():
            methods[key][field] = m["median"]
            methods[key][field + "_min"] = m["min"]
        timers.clear()
        progress.step(f"{case.label} steady state (interleaved): " + ", ".join(
            f"{METHOD_LABELS[k]} {fmt_time(methods[k]['steady'])}"
            for k in methods if methods[k].get("available")))

    ref = methods.get("jax_star", {})
    for res in methods.values():
        if res.get("available") and ref.get("available"):
            res["vs_ours"] = res["steady"] / ref["steady"]
    return out


# ---------------------------------------------------------------------------------------
# tables and driver


HEADER = ["method", "colors", "detect", "color", "compile", "1st eval", "1st call", "steady",
          "out=", "jax x", "vs jax star", "rel err"]


def case_rows(case: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Rows of one case's table, plus the 'not available' lines."""
    rows, missing = [], []
    for key, res in case["methods"].items():
        if not res.get("available"):
            missing.append(f"{METHOD_LABELS[key]}: not available: {res.get('reason')}")
            continue
        err = res.get("rel_error")
        rows.append([METHOD_LABELS[key], str(res.get("colors", "-")),
                     fmt_time(res.get("detect")), fmt_time(res.get("color")),
                     fmt_time(res.get("compile")), fmt_time(res.get("first_eval")),
                     fmt_time(res.get("first_call")), fmt_time(res.get("steady")),
                     fmt_time(res.get("steady_out")), fmt_time(res.get("steady_jax_x")),
                     fmt_ratio(res.get("vs_ours")), "-" if err is None else f"{err:.0e}"])
    return rows, missing


def case_title(case: dict[str, Any]) -> str:
    """Title line of one case: n, nnz, detection result and color counts."""
    det = case.get("detect", {})
    star, acyc = case.get("star", {}), case.get("acyclic", {})
    extra = ""
    if det:
        extra = (f"; detected nnz {det['nnz']} (exact: {det['exact']}), star "
                 f"{star.get('ncolors', 'n/a')} colors, acyclic {acyc.get('ncolors', 'n/a')}")
    return f"{case['label']}: n={case['n']}, nnz={case['nnz']}{extra}"


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Brusselator N=64: <= 28 colors and evaluation no slower than asdex."""
    targets = []
    for case in results["cases"]:
        if case["case"] != "brusselator" or case["size"] != 64:
            continue
        m = case["methods"]
        star = m.get("jax_star", {})
        colors = case.get("star", {}).get("ncolors")
        if colors is not None:
            targets.append({"target": "Brusselator N=64 Hessian <= 28 colors",
                            "measured": f"{colors} (asdex {m.get('asdex', {}).get('colors')})",
                            "met": bool(colors <= 28)})
        if star.get("available") and m.get("asdex", {}).get("available"):
            peer = m["asdex"]["steady"]
            for what, t in (("H(x), x a JAX array like asdex's", star.get("steady_jax_x")),
                            ("H(x), x a numpy array (one more host-to-device copy)",
                             star["steady"]),
                            ("in place H(x, out=M), numpy x", star.get("steady_out"))):
                if t is not None:
                    targets.append({"target": f"Brusselator N=64 Hessian evaluation, {what}, "
                                              f"<= asdex",
                                    "measured": f"{fmt_time(t)} vs {fmt_time(peer)}",
                                    "met": bool(t <= peer)})
    return targets


def summary_table(results: dict[str, Any]) -> str:
    """One markdown row per case: colors and times of ours (jax, star) next to asdex."""
    header = ["case", "n", "nnz", "star colors", "acyclic colors", "asdex colors",
              "ours jax star", "out=", "JAX-array x", "asdex", "ours/asdex",
              "ours fd (grad)",
              "1st call ours", "1st call asdex"]
    rows = []
    for case in results["cases"]:
        m = case["methods"]
        ours, peer, fd = m.get("jax_star", {}), m.get("asdex", {}), m.get("fd_star", {})
        ok = ours.get("available") and peer.get("available")
        rows.append([
            case["label"], str(case["n"]), str(case["nnz"]),
            str(case.get("star", {}).get("ncolors", "n/a")),
            str(case.get("acyclic", {}).get("ncolors", "n/a")),
            str(peer.get("colors", "n/a")),
            fmt_time(ours.get("steady")) if ours.get("available") else "n/a",
            fmt_time(ours.get("steady_out")), fmt_time(ours.get("steady_jax_x")),
            fmt_time(peer.get("steady")) if peer.get("available") else "n/a",
            fmt_ratio(ours["steady"] / peer["steady"]) if ok else "-",
            fmt_time(fd.get("steady")) if fd.get("available") else "n/a",
            fmt_time(ours.get("first_call")) if ours.get("available") else "n/a",
            fmt_time(peer.get("first_call")) if peer.get("available") else "n/a",
        ])
    return markdown_table(header, rows)


README_START, README_END = "<!-- hessian:start -->", "<!-- hessian:end -->"


def readme_section(results: dict[str, Any]) -> str:
    """The README's Hessian section, rendered from a run's results."""
    meta = results["meta"]
    lines = [README_START,
             "Generated by `python -m benchmarks.hessian --docs --update-readme` from "
             "[`docs/hessian.json`](docs/hessian.json); do not edit by hand.", "",
             f"Run on {meta['date']}, {meta['machine']} (load average {meta['loadavg']}"
             f"{pinning_note(meta)}); "
             f"steady-state medians (interleaved with asdex's), `out=` is the in-place "
             f"`H(x, out=M)`, `JAX-array x` is `H(jnp.asarray(x))` (asdex's input; a "
             f"numpy x adds a host-to-device copy); first call = detect + color + "
             f"prepare + first evaluation.",
             "", summary_table(results)]
    if results.get("targets"):
        lines += [""]
        lines += target_lines(results["targets"])
    lines.append(README_END)
    return "\n".join(lines)


def update_readme(results: dict[str, Any]) -> None:
    """Replace the README's Hessian section with the one rendered from ``results``."""
    from benchmarks.brusselator import README_PATH

    replace_readme_section(README_PATH, README_START, README_END, readme_section(results))


def render(results: dict[str, Any], markdown: bool = False) -> str:
    """All case tables and the targets, as plain text or markdown."""
    table = markdown_table if markdown else text_table
    meta = results["meta"]
    parts = [f"sparsead Hessian benchmark - {meta['date']}, {meta['machine']}, "
             f"load average {meta['loadavg']}{pinning_note(meta)}"]
    for case in results["cases"]:
        rows, missing = case_rows(case)
        parts.append(("\n#### " if markdown else "\n") + case_title(case))
        parts.append(table(HEADER, rows))
        parts.extend(("- " if markdown else "  ") + line for line in missing)
    if results.get("targets"):
        parts.append(("\n#### " if markdown else "\n") + "Targets")
        for t in results["targets"]:
            mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            parts.append(("- " if markdown else "  ") + f"[{mark}] {t['target']}: {t['measured']}")
    return "\n".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.hessian",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=None,
                   help="NAME:SIZE items, e.g. brusselator:64 rosenbrock:10000 arrowhead:100000")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny cases")
    p.add_argument("--repeats", type=int, default=None, help="repeats per median (default 21)")
    p.add_argument("--budget", type=float, default=None,
                   help="soft cap in seconds per steady-state measurement (default 1.5)")
    p.add_argument("--dense-max-n", type=int, default=2048)
    p.add_argument("--json", type=Path, default=RESULTS_DIR / "hessian.json")
    p.add_argument("--readme", action="store_true", help="print markdown tables")
    p.add_argument("--docs", action="store_true", help="also write docs/hessian.json")
    p.add_argument("--update-readme", action="store_true",
                   help="rewrite the README's Hessian section from this run (or --from-json)")
    p.add_argument("--from-json", type=Path, default=None,
                   help="do not run; print the tables of an earlier run's JSON")
    p.add_argument("--pin-cpu", type=int, default=None, metavar="CPU",
                   help="run on this one CPU only, as the issue's peer figures were measured")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the Hessian benchmark, print the tables, write the JSON; return the results."""
    args = parse_args(argv)
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
        print(render(results, markdown=args.readme))
        if args.update_readme:
            update_readme(results)
        return results
    pinned = pin_to_cpu(args.pin_cpu)  # before JAX creates its thread pool
    _enable_jax_x64()
    specs = args.cases or (QUICK_CASES if args.quick else DEFAULT_CASES)
    repeats = args.repeats or (3 if args.quick else 21)
    budget = args.budget or (0.2 if args.quick else 1.5)
    cases = []
    for spec in specs:
        name, _, size = spec.partition(":")
        cases.append((name, int(size) if size else 32))
    progress = Progress(total=len(cases) * (2 + len(METHOD_LABELS)), enabled=not args.quiet)
    results: dict[str, Any] = {"meta": machine_description(), "cases": []}
    results["meta"].update({"pinned_cpu": pinned, "repeats": repeats, "budget_s": budget})
    t_start = time.perf_counter()
    try:
        for name, size in cases:
            results["cases"].append(run_case(Case(name, size), repeats=repeats, budget=budget,
                                             dense_max_n=args.dense_max_n, progress=progress))
    finally:
        progress.close()
    results["targets"] = check_targets(results)
    results["meta"]["total_seconds"] = time.perf_counter() - t_start
    args.json.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, default=_json_default)
    args.json.write_text(text)
    if args.docs:
        docs = Path(__file__).resolve().parent.parent / "docs"
        docs.mkdir(exist_ok=True)
        (docs / "hessian.json").write_text(text)
    print(render(results, markdown=args.readme))
    if args.update_readme:
        update_readme(results)
    print(f"\nresults: {args.json} ({results['meta']['total_seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
