"""Colors and median times of star and acyclic coloring on the issue's problems.

Run ``python -m benchmarks.symmetric_coloring [--quick]`` from the repository root. It
times :func:`coloring.symmetric._coloring.color_symmetric` (coloring plus decompression plan) and
the coloring kernel alone, both after a warm-up call, so Numba compile time is reported
separately as "first call". The full comparison with peers lives in
``benchmarks/coloring.py``; this script measures the symmetric kernels without the
public API around them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from benchmarks.problems import arrowhead_hessian_sparsity, brusselator_sparsity
from coloring import ColoringResult
from coloring._orderings import ORDERINGS
from coloring.symmetric._acyclic import AcyclicPlan, acyclic_coloring
from coloring.symmetric._coloring import color_symmetric
from coloring.symmetric._graph import SymmetricGraph
from coloring.symmetric._star import StarPlan, star_coloring

# ColPack's best over its orders, measured on the project machine (from the issue)
COLPACK_BEST = {
    ("star", "laplacian2d_1000"): 5, ("star", "laplacian3d_60"): 11,
    ("star", "random_100k"): 47, ("star", "arrowhead_1e4"): 4,
    ("star", "arrowhead_1e5"): 4,
    ("acyclic", "brusselator_sym_128"): 6, ("acyclic", "laplacian2d_1000"): 4,
    ("acyclic", "laplacian3d_60"): 7, ("acyclic", "random_100k"): 18,
}


def laplacian_2d(m: int) -> sp.csr_array:
    """5-point Laplacian pattern on an ``m x m`` grid (diagonal included)."""
    T = sp.diags_array([np.ones(m - 1), np.ones(m), np.ones(m - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(m)
    return _pattern(sp.kron(T, I) + sp.kron(I, T))


def laplacian_3d(m: int) -> sp.csr_array:
    """7-point Laplacian pattern on an ``m x m x m`` grid (diagonal included)."""
    T = sp.diags_array([np.ones(m - 1), np.ones(m), np.ones(m - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(m)
    return _pattern(sp.kron(sp.kron(T, I), I) + sp.kron(sp.kron(I, T), I)
                    + sp.kron(sp.kron(I, I), T))


def random_symmetric(n: int, per_row: int = 10, seed: int = 0) -> sp.csr_array:
    """``R | R.T`` for a seeded random ``R`` with ``per_row`` entries per row."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, rows.size)
    R = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    return _pattern(R + R.T)


def arrowhead(n: int) -> sp.csr_array:
    """Diagonal plus a dense last row and column."""
    return _pattern(arrowhead_hessian_sparsity(n))


def brusselator_symmetric(N: int) -> sp.csr_array:
    """Symmetrized Brusselator Jacobian pattern ``J | J.T`` (n = 2 N^2)."""
    J = brusselator_sparsity(N)
    return _pattern(J + J.T)


def brusselator_hessian(N: int) -> sp.csr_array:
    """Hessian pattern of ``sum(f(y)**2)``: ``J.T J`` plus ``J | J.T`` and the diagonal."""
    J = sp.csr_array(brusselator_sparsity(N), dtype=float)
    return _pattern(J.T @ J + J + J.T + sp.eye_array(J.shape[0]))


def _pattern(A) -> sp.csr_array:
    A = sp.csr_array(A)
    A.sum_duplicates()
    A.sort_indices()
    return A


def _largest_first(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return ORDERINGS["largest_first"](indptr, indices, None)


def _orders(indptr, indices):
    return {name: fn(indptr, indices, 0) for name, fn in ORDERINGS.items()}


def _result(A: sp.csr_array, plan) -> ColoringResult:
    """The public result over a plan: what the library decompresses through."""
    return ColoringResult(A.astype(bool), plan.colors, plan.problem, plan=plan)


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _extras(A, g, prob, name, orders, rows) -> None:
    """Improvement pass, neutral-color post-processing and decompression time."""
    best_name = min(orders, key=lambda o: next(
        r["colors"] for r in rows if r["problem"] == prob and r["matrix"] == name
        and r["order"] == o))
    order = orders[best_name]
    t = time.perf_counter()
    improved = color_symmetric(A.indptr, A.indices, prob, order, improve=20, time_limit=5.0,
                               seed=0)
    ti = time.perf_counter() - t
    post = color_symmetric(A.indptr, A.indices, prob, order, postprocess=True)
    lf = _result(A, color_symmetric(A.indptr, A.indices, prob, orders["largest_first"]))
    B = np.random.default_rng(0).standard_normal((lf.ncolors, g.n)).T  # F-ordered view
    M = lf.decompress(B)  # builds the index (or the solve order) once
    td = _median_time(lambda: lf.decompress(B, out=M), 5)
    out = np.empty(g.nnz)
    flat = np.ascontiguousarray(B.T).reshape(-1)
    index = np.arange(g.nnz) % max(flat.size, 1)  # the cache-friendliest gather of nnz
    tg = _median_time(lambda: np.take(flat, index, out=out), 5)
    print(f"  -> {best_name}: improve(20 passes, <=5 s)={improved.ncolors} in {ti:.2f} s; "
          f"postprocess={post.ncolors}; decompress (largest_first, F layout) "
          f"{td * 1e3:.2f} ms = {td / tg:.2f}x one numpy gather of nnz ({tg * 1e3:.2f} ms)")


def run(quick: bool = False, repeat: int = 5, extras: bool = True) -> list[dict]:
    """Print and return one row per (problem, matrix, order)."""
    t = time.perf_counter()
    tiny = laplacian_2d(4)
    for prob in ("star", "acyclic"):
        color_symmetric(tiny.indptr, tiny.indices, prob, np.arange(16))
    print(f"first call (Numba compile/load of the kernels): {time.perf_counter() - t:.2f} s")
    mats = {
        "arrowhead_1e4": lambda: arrowhead(10**4),
        "arrowhead_1e5": lambda: arrowhead(10**5),
        "brusselator_sym_128": lambda: brusselator_symmetric(128),
        "brusselator_hess_128": lambda: brusselator_hessian(128),
        "laplacian2d_1000": lambda: laplacian_2d(300 if quick else 1000),
        "laplacian3d_60": lambda: laplacian_3d(20 if quick else 60),
        "random_100k": lambda: random_symmetric(10**4 if quick else 10**5),
    }
    rows = []
    for name, make in mats.items():
        A = make()
        g = SymmetricGraph(A.indptr, A.indices)
        orders = _orders(A.indptr, A.indices)
        for prob in ("star", "acyclic"):
            best = None
            for oname, order in orders.items():
                # "+plan": coloring plus the decompression structures the library uses
                # (the CSR gather index of the result, or the substitution order), which
                # are otherwise built on first use
                if prob == "star":
                    kernel = lambda g=g, order=order: star_coloring(g, order)  # noqa: E731
                    full = lambda A=A, g=g, order=order: _result(  # noqa: E731
                        A, StarPlan(g, *star_coloring(g, order))).decompression_index()
                else:
                    kernel = lambda g=g, order=order: acyclic_coloring(g, order)  # noqa: E731
                    full = lambda g=g, order=order: AcyclicPlan(  # noqa: E731
                        g, acyclic_coloring(g, order), validate=True)
                plan = (StarPlan(g, *star_coloring(g, order)) if prob == "star"
                        else AcyclicPlan(g, acyclic_coloring(g, order)))
                tk = _median_time(kernel, repeat if oname == "largest_first" else 1)
                tf = _median_time(full, repeat if oname == "largest_first" else 1)
                row = dict(problem=prob, matrix=name, order=oname, n=g.n, nnz=g.nnz,
                           colors=plan.ncolors, kernel_s=tk, with_plan_s=tf)
                rows.append(row)
                best = plan.ncolors if best is None else min(best, plan.ncolors)
                print(f"{prob:8s} {name:20s} {oname:22s} n={g.n:8d} nnz={g.nnz:9d} "
                      f"colors={plan.ncolors:3d} kernel={tk * 1e3:8.2f} ms "
                      f"+plan={tf * 1e3:8.2f} ms")
            ref = COLPACK_BEST.get((prob, name))
            print(f"  -> best {prob} on {name}: {best} (ColPack best: {ref})")
            if extras:
                _extras(A, g, prob, name, orders, rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-extras", action="store_true",
                        help="skip improvement, post-processing and decompression timings")
    args = parser.parse_args()
    run(quick=args.quick, repeat=args.repeat, extras=not args.no_extras)
