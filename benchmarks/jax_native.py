"""JAX-native sparse Jacobians and Hessians: ``sparsead.jax`` next to asdex and sparsejac.

Run from the repository root::

    python -m benchmarks.jax_native                 # Brusselator N = 32, 64, 128, 256
                                                    # and the Hessian cases of
                                                    # benchmarks/hessian.py
    python -m benchmarks.jax_native --quick         # tiny smoke run
    python -m benchmarks.jax_native --docs --update-readme

Everything runs in one process, on JAX arrays, jitted, with ``block_until_ready``:

- **steady**: ``jax.jit(jac)(x)`` (values on the device) for ``sparsead.jax.jacobian``
  (BCSR), asdex's ``jacobian_from_coloring`` (BCOO) and ``sparsejac.jacfwd`` (BCOO, the
  exact pattern given: it has no detection); medians and minima of interleaved rounds;
- **first call**: detect + color + compile + first evaluation, in this process, after
  every method has run on tiny Brusselators (N = 4, 12), so that one-time costs (JAX's
  own start, loading Numba's cached kernels) are paid by none of the timed calls; the
  method prepared first rotates from size to size;
- **Newton step**: one jitted ``y - spsolve(J(y), f(y))`` with the Jacobian as CSR
  (the peers' BCOO values are permuted to CSR order by an index computed once);
- **vmap 8**: ``jax.jit(jax.vmap(jac))`` over 8 points;
- **Hessians**: ``jax.jit(sparsead.jax.hessian(g, x))`` against asdex's jitted
  ``hessian_from_coloring`` on the cases of :mod:`benchmarks.hessian`.

Every result is checked against an independent reference (``jax.jacfwd`` while small,
else sparsead's host JAX backend; the exact Hessian pattern with dense HVPs per column
group via :func:`benchmarks.hessian.reference_hessian`).
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

from benchmarks import hessian as hessian_bench
from benchmarks import problems
from benchmarks._timing import (
    Progress,
    fmt_ratio,
    fmt_time,
    interleaved_steady,
    markdown_table,
    pin_to_cpu,
    pinning_note,
    replace_readme_section,
    target_lines,
    text_table,
    timed,
)
from benchmarks.brusselator import (
    EVAL_TIME,
    README_PATH,
    _describe_failure,
    _enable_jax_x64,
    _eval_point,
    _json_default,
    machine_description,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_SIZES = (32, 64, 128, 256)
QUICK_SIZES = (6, 8)
DEFAULT_HESSIAN_CASES = hessian_bench.DEFAULT_CASES
QUICK_HESSIAN_CASES = ("brusselator:4", "rosenbrock:50", "arrowhead:50")
METHODS = ("ours", "asdex", "sparsejac")
LABELS = {"ours": "sparsead.jax", "asdex": "asdex", "sparsejac": "sparsejac"}
VMAP_POINTS = 8
README_START, README_END = "<!-- jax-native:start -->", "<!-- jax-native:end -->"


def _dense_of(M: Any) -> np.ndarray:
    return np.asarray(M.todense())


def _values_csr(M: Any, shape: tuple[int, int]) -> sp.csr_array:
    """A scipy CSR matrix from a BCSR/BCOO result (for the error check)."""
    from jax.experimental import sparse as jsparse

    if isinstance(M, jsparse.BCSR):
        return sp.csr_array((np.asarray(M.data), np.asarray(M.indices), np.asarray(M.indptr)),
                            shape=shape)
    idx = np.asarray(M.indices)
    return sp.csr_array(sp.coo_array((np.asarray(M.data), (idx[:, 0], idx[:, 1])),
                                     shape=shape))


def rel_error(M: Any, R: sp.csr_array) -> float:
    A = _values_csr(M, R.shape)
    D = (A - R).tocsr()
    scale = max(float(abs(R).max()), 1e-300)
    return float(abs(D).max() / scale) if D.nnz else 0.0


# ---------------------------------------------------------------------------------------
# Jacobians


def _bcoo_to_csr(jac: Callable[[Any], Any], J0: Any, shape: tuple[int, int]):
    """``y -> (data, indices, indptr)`` in CSR order for a BCOO-valued ``jac`` whose
    structure is fixed: the permutation is computed once here, with numpy, as a user
    would (``BCSR.from_bcoo`` inside the jit sorts the constant indices at compile time,
    which XLA's constant folding took minutes for at N = 256)."""
    import jax.numpy as jnp

    idx = np.asarray(J0.indices)
    order = np.lexsort((idx[:, 1], idx[:, 0]))
    indices = jnp.asarray(idx[order, 1].astype(np.int32))
    indptr = np.zeros(shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(idx[:, 0], minlength=shape[0]), out=indptr[1:])
    indptr = jnp.asarray(indptr)
    perm = jnp.asarray(order.astype(np.int32))

    class CSR:
        def __init__(self, data):
            self.data, self.indices, self.indptr = data, indices, indptr

    return lambda y: CSR(jac(y).data[perm])


def _newton_step(jac_csr: Callable[[Any], Any], f: Callable[[Any], Any]):
    from jax.experimental.sparse.linalg import spsolve

    def step(y):
        J = jac_csr(y)
        return y - spsolve(J.data, J.indices, J.indptr, f(y))
    return step


def jacobian_methods(N: int, x: np.ndarray, P: sp.csr_array, progress: Progress,
                     only: tuple[str, ...], rotate: int = 0) -> dict[str, dict[str, Any]]:
    """Prepare every method (timing its first call) and return rows with timers.

    ``rotate`` shifts which method is prepared first: the first compilation after a
    size change measured up to 2x slower than the next ones, whichever method it was.
    """
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    f = problems.make_brusselator_jax(N, EVAL_TIME)
    xj = jnp.asarray(x)
    xs = jnp.stack([xj * (1.0 + 0.01 * i) for i in range(VMAP_POINTS)])
    rows: dict[str, dict[str, Any]] = {}

    def ours():
        import sparsead.jax as sj

        jac, t_prep = timed(sj.jacobian, f, xj)
        fn = jax.jit(jac)
        compiled, t_compile = timed(lambda: fn.lower(xj).compile())
        J, t_first = timed(compiled, xj)
        return {"colors": jac.ncolors, "prepare": t_prep, "compile": t_compile,
                "first_eval": t_first, "first_call": t_prep + t_compile + t_first,
                "result": J, "jac_csr": jac, "f": f}

    def asdex():
        try:
            import asdex as ad
        except ImportError as exc:
            raise RuntimeError("asdex is not installed (pip install asdex)") from exc
        pattern, t_detect = timed(ad.jacobian_sparsity, f, xj)
        colored, t_color = timed(ad.jacobian_coloring_from_sparsity, pattern)
        jac = ad.jacobian_from_coloring(f, colored)
        compiled, t_compile = timed(lambda: jax.jit(jac).lower(xj).compile())
        J, t_first = timed(compiled, xj)
        return {"colors": int(colored.num_colors), "prepare": t_detect + t_color,
                "compile": t_compile, "first_eval": t_first,
                "first_call": t_detect + t_color + t_compile + t_first, "result": J,
                "jac_csr": _bcoo_to_csr(jac, J, P.shape), "jac": jac}

    def sparsejac():
        try:
            import sparsejac as sjac
        except ImportError as exc:
            raise RuntimeError("sparsejac is not installed (pip install sparsejac)") from exc
        t0 = time.perf_counter()
        S = jsparse.BCOO.from_scipy_sparse(sp.csr_matrix(P.astype(np.float64)))
        jac = sjac.jacfwd(f, S)
        t_color = time.perf_counter() - t0
        compiled, t_compile = timed(lambda: jax.jit(jac).lower(xj).compile())
        J, t_first = timed(compiled, xj)
        return {"colors": None, "prepare": t_color, "compile": t_compile,
                "first_eval": t_first, "first_call": t_color + t_compile + t_first,
                "result": J, "jac_csr": _bcoo_to_csr(jac, J, P.shape),
                "jac": jac, "note": "exact pattern given (no detection)"}

    runs = [("ours", ours), ("asdex", asdex), ("sparsejac", sparsejac)]
    shift = rotate % len(runs)  # who compiles first changes per size (see main)
    for key, run in runs[shift:] + runs[:shift]:
        if key not in only:
            continue
        try:
            row = run()
        except Exception as exc:  # noqa: BLE001 - reported as not available
            rows[key] = {"available": False, "reason": _describe_failure(exc)}
            progress.note(f"N={N} {LABELS[key]}: not available: {rows[key]['reason']}")
            continue
        row["available"] = True
        jac = row.pop("jac", None) or row["jac_csr"]
        row["timers"] = {"steady": jax.jit(jac), "newton": jax.jit(_newton_step(
            row.pop("jac_csr"), f)), "vmap": jax.jit(jax.vmap(jac))}
        row["args"] = {"steady": xj, "newton": xj, "vmap": xs}
        rows[key] = row
    return rows


def run_jacobian_size(N: int, *, repeats: int, budget: float, progress: Progress,
                      only: tuple[str, ...], rotate: int = 0) -> dict[str, Any]:
    """One grid size: first calls, then interleaved steady / Newton / vmap timings."""
    import jax
    import jax.numpy as jnp

    x = _eval_point(N)
    P = problems.brusselator_sparsity(N)
    rows = jacobian_methods(N, x, P, progress, only, rotate)
    rows = {key: rows[key] for key in METHODS if key in rows}
    if N <= 48:
        R = sp.csr_array(np.asarray(jax.jit(jax.jacfwd(problems.make_brusselator_jax(
            N, EVAL_TIME)))(jnp.asarray(x))))
    else:  # sparsead's host JAX backend on the exact pattern: an independent pipeline
        import sparsead

        R = sparsead.jacobian(problems.make_brusselator_jax(N, EVAL_TIME), x, backend="jax",
                              sparsity=P)
    for row in rows.values():
        if row.get("available"):
            row["rel_error"] = rel_error(row.pop("result"), R)
    fns = {}
    for key, row in rows.items():
        if not row.get("available"):
            continue
        timers, args = row.pop("timers"), row.pop("args")
        for what, fn in timers.items():
            fns[(key, what)] = (lambda fn=fn, a=args[what]: fn(a))
    # interleaved_steady calls each once first: that compiles the Newton and vmap ones
    times = interleaved_steady(fns, repeats=repeats, max_time_per_fn=budget)
    for (key, what), t in times.items():
        rows[key][what] = t["median"]
        rows[key][what + "_min"] = t["min"]
    for key, row in rows.items():
        if row.get("available"):
            row.pop("f", None)
            progress.step(f"N={N} {LABELS[key]}: steady {fmt_time(row['steady'])} "
                          f"(min {fmt_time(row['steady_min'])}), first call "
                          f"{fmt_time(row['first_call'])}, error {row['rel_error']:.1e}")
    return {"N": N, "n": int(x.size), "nnz": int(P.nnz), "methods": rows}


# ---------------------------------------------------------------------------------------
# Hessians


def run_hessian_case(spec: str, *, repeats: int, budget: float,
                     progress: Progress) -> dict[str, Any]:
    """``jax.jit(sparsead.jax.hessian)`` against asdex's jitted ``hessian_from_coloring``."""
    import jax
    import jax.numpy as jnp

    import sparsead.jax as sj

    name, _, size = spec.partition(":")
    case = hessian_bench.Case(name, int(size))
    xj = jnp.asarray(case.x)
    R = hessian_bench.reference_hessian(case)
    methods: dict[str, dict[str, Any]] = {}
    fns = {}
    hes, t_prep = timed(sj.hessian, case.g_jax, xj)
    compiled, t_compile = timed(lambda: jax.jit(hes).lower(xj).compile())
    H, t_first = timed(compiled, xj)
    methods["ours"] = {"available": True, "colors": hes.ncolors,
                       "first_call": t_prep + t_compile + t_first,
                       "rel_error": None if R is None else rel_error(H, R)}
    fns["ours"] = lambda: compiled(xj)
    try:
        import asdex as ad

        pattern, t_detect = timed(ad.hessian_sparsity, case.g_jax, xj)
        colored, t_color = timed(ad.hessian_coloring_from_sparsity, pattern)
        peer = jax.jit(ad.hessian_from_coloring(case.g_jax, colored)).lower(xj)
        peer, t_pc = timed(peer.compile)
        HA, t_pf = timed(peer, xj)
        methods["asdex"] = {"available": True, "colors": int(colored.num_colors),
                            "first_call": t_detect + t_color + t_pc + t_pf,
                            "rel_error": None if R is None else rel_error(HA, R)}
        fns["asdex"] = lambda: peer(xj)
    except Exception as exc:  # noqa: BLE001 - reported as not available
        methods["asdex"] = {"available": False, "reason": _describe_failure(exc)}
    times = interleaved_steady(fns, repeats=repeats, max_time_per_fn=budget)
    for key, t in times.items():
        methods[key]["steady"], methods[key]["steady_min"] = t["median"], t["min"]
    progress.step(f"{case.label}: ours {fmt_time(methods['ours']['steady'])} vs asdex "
                  f"{fmt_time(methods['asdex'].get('steady'))}")
    return {"label": case.label, "n": int(case.n), "nnz": int(hes.nnz), "methods": methods}


# ---------------------------------------------------------------------------------------
# targets and tables


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Steady <= 0.85x asdex at N = 128, 256 (minima); first call <= half of asdex's;
    every Hessian case at most asdex's steady time (medians)."""
    targets = []
    for size in results["jacobian"]:
        m = size["methods"]
        ours, peer = m.get("ours", {}), m.get("asdex", {})
        if not (ours.get("available") and peer.get("available")):
            continue
        N = size["N"]
        if N in (128, 256):
            r = ours["steady_min"] / peer["steady_min"]
            targets.append({"target": f"N={N}: steady jit(jac)(x) <= 0.85x asdex (minima)",
                            "measured": f"{fmt_time(ours['steady_min'])} vs "
                                        f"{fmt_time(peer['steady_min'])} = {fmt_ratio(r)}",
                            "met": bool(r <= 0.85)})
        r = ours["first_call"] / peer["first_call"]
        targets.append({"target": f"N={N}: first call <= 0.5x asdex",
                        "measured": f"{fmt_time(ours['first_call'])} vs "
                                    f"{fmt_time(peer['first_call'])} = {fmt_ratio(r)}",
                        "met": bool(r <= 0.5)})
    for case in results["hessian"]:
        ours, peer = case["methods"]["ours"], case["methods"].get("asdex", {})
        if peer.get("available"):
            r = ours["steady"] / peer["steady"]
            targets.append({"target": f"{case['label']}: Hessian <= asdex (medians)",
                            "measured": f"{fmt_time(ours['steady'])} vs "
                                        f"{fmt_time(peer['steady'])} = {fmt_ratio(r)}",
                            "met": bool(r <= 1.0)})
    return targets


def _cell(row: dict[str, Any], key: str) -> str:
    return fmt_time(row.get(key)) if row.get("available") else "n/a"


def jacobian_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["N", "n", "method", "colors", "steady (median)", "steady (min)", "vs asdex (min)",
              "first call", "Newton step", "vmap 8", "rel. error"]
    rows = []
    for size in results["jacobian"]:
        m = size["methods"]
        peer = m.get("asdex", {})
        for key in METHODS:
            row = m.get(key)
            if row is None:
                continue
            ratio = (fmt_ratio(row["steady_min"] / peer["steady_min"])
                     if row.get("available") and peer.get("available") else "-")
            rows.append([str(size["N"]), str(size["n"]), LABELS[key],
                         str(row.get("colors") if row.get("colors") is not None else "-"),
                         _cell(row, "steady"), _cell(row, "steady_min"), ratio,
                         _cell(row, "first_call"), _cell(row, "newton"), _cell(row, "vmap"),
                         f"{row['rel_error']:.0e}" if row.get("rel_error") is not None
                         else row.get("reason", "-")[:40]])
    return header, rows


def hessian_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["case", "n", "nnz", "colors ours", "colors asdex", "ours (median)",
              "asdex (median)", "ours/asdex", "first call ours", "first call asdex"]
    rows = []
    for case in results["hessian"]:
        ours, peer = case["methods"]["ours"], case["methods"].get("asdex", {})
        rows.append([case["label"], str(case["n"]), str(case["nnz"]), str(ours["colors"]),
                     str(peer.get("colors", "n/a")), fmt_time(ours["steady"]),
                     _cell(peer, "steady"),
                     fmt_ratio(ours["steady"] / peer["steady"]) if peer.get("available")
                     else "-", fmt_time(ours["first_call"]), _cell(peer, "first_call")])
    return header, rows


def readme_section(results: dict[str, Any]) -> str:
    """The README's JAX-native results section, rendered from a run's results."""
    meta = results["meta"]
    lines = [README_START,
             "Generated by `python -m benchmarks.jax_native --docs --update-readme` from "
             "[`docs/jax_native.json`](docs/jax_native.json); do not edit by hand.", "",
             f"Run on {meta['date']}, {meta['machine']} (load average {meta['loadavg']}"
             f"{pinning_note(meta)}), CPU only. One process, all jitted on JAX arrays, "
             f"interleaved rounds; first call = detect + color + compile + first "
             f"evaluation in the same process; Newton step = `y - spsolve(J(y), f(y))` "
             f"jitted; vmap 8 = `jit(vmap(jac))` over 8 points.", "",
             markdown_table(*jacobian_table(results)), "",
             markdown_table(*hessian_table(results))]
    if results.get("targets"):
        lines.append("")
        lines += target_lines(results["targets"])
    lines.append(README_END)
    return "\n".join(lines)


def update_readme(results: dict[str, Any]) -> None:
    """Replace the README's JAX-native section with the one rendered from ``results``."""
    replace_readme_section(README_PATH, README_START, README_END, readme_section(results))


def render(results: dict[str, Any], markdown: bool = False) -> str:
    table = markdown_table if markdown else text_table
    meta = results["meta"]
    parts = [f"sparsead.jax benchmark - {meta['date']}, {meta['machine']}, load average "
             f"{meta['loadavg']}{pinning_note(meta)}", "",
             table(*jacobian_table(results)), "", table(*hessian_table(results))]
    for t in results.get("targets", []):
        parts.append(f"[{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------
# driver


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.jax_native",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="*", default=None,
                   help="Brusselator grid sizes N (default 32 64 128 256)")
    p.add_argument("--hessian-cases", nargs="*", default=None,
                   help="NAME:SIZE cases of benchmarks.hessian (default: all of its defaults)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    p.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default 21)")
    p.add_argument("--budget", type=float, default=None,
                   help="soft cap in seconds per timed function (default 1.5)")
    p.add_argument("--json", type=Path, default=RESULTS_DIR / "jax_native.json")
    p.add_argument("--readme", action="store_true", help="print markdown tables")
    p.add_argument("--docs", action="store_true", help="also write docs/jax_native.json")
    p.add_argument("--update-readme", action="store_true",
                   help="rewrite the README's JAX-native section (or from --from-json)")
    p.add_argument("--from-json", type=Path, default=None,
                   help="do not run; render an earlier run's JSON")
    p.add_argument("--pin-cpu", type=int, default=None, metavar="CPU")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the tables, write the JSON; return the results."""
    args = parse_args(argv)
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
        print(render(results, markdown=args.readme))
        if args.update_readme:
            update_readme(results)
        return results
    pinned = pin_to_cpu(args.pin_cpu)
    _enable_jax_x64()
    sizes = args.sizes if args.sizes is not None else (
        QUICK_SIZES if args.quick else DEFAULT_SIZES)
    cases = args.hessian_cases if args.hessian_cases is not None else (
        QUICK_HESSIAN_CASES if args.quick else DEFAULT_HESSIAN_CASES)
    repeats = args.repeats or (3 if args.quick else 21)
    budget = args.budget or (0.2 if args.quick else 1.5)
    progress = Progress(total=len(sizes) * len(args.methods) + len(cases),
                        enabled=not args.quiet)
    results: dict[str, Any] = {"meta": machine_description(), "jacobian": [], "hessian": []}
    results["meta"].update({"pinned_cpu": pinned, "repeats": repeats, "budget_s": budget})
    t_start = time.perf_counter()
    try:
        # warm-up, untimed: every method twice, so the first size is like the others
        for N in (4, 12):
            jacobian_methods(N, _eval_point(N), problems.brusselator_sparsity(N),
                             Progress(total=0, enabled=False), tuple(args.methods))
        for i, N in enumerate(sizes):
            results["jacobian"].append(run_jacobian_size(
                N, repeats=repeats, budget=budget, progress=progress,
                only=tuple(args.methods), rotate=i + 1))
        for spec in cases:
            results["hessian"].append(run_hessian_case(spec, repeats=repeats, budget=budget,
                                                       progress=progress))
    finally:
        progress.close()
    results["targets"] = check_targets(results)
    results["meta"]["total_seconds"] = time.perf_counter() - t_start
    try:
        import os

        results["meta"]["loadavg_end"] = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        pass
    text = json.dumps(results, indent=1, default=_json_default)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text)
    if args.docs:
        docs = Path(__file__).resolve().parent.parent / "docs"
        docs.mkdir(exist_ok=True)
        (docs / "jax_native.json").write_text(text)
    print(render(results, markdown=args.readme))
    if args.update_readme:
        update_readme(results)
    print(f"\nresults: {args.json} ({results['meta']['total_seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
