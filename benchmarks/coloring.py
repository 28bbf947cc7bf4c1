"""Coloring benchmark: colors and median seconds per problem and order.

Run ``python -m benchmarks.coloring`` (``--quick`` for a short run, ``--json PATH`` to
save the rows). One line is printed per finished case:

    problem  matrix  n  nnz  method  colors  [ColPack best]  median seconds

``method`` is one of our orders, ``best`` (the tuple :data:`coloring.BEST_ORDERS`),
``best+improve`` (plus Culberson's iterated greedy), or a peer: scipy's
``group_columns`` and networkx's ``greedy_color`` on the column-intersection graph,
run only where they finish within about a minute (skipped cases are noted).
Numba compilation (or loading its cache) is reported once, separately, as the
first-call overhead; all other timings are medians of warm repeats. The machine is
shared, so compare ratios within one run, not across runs.

ColPack 2019 reference colors (best of its orders, serial build, from the coloring
issue) are printed next to ours where known.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

import coloring
from benchmarks.problems import arrowhead_hessian_sparsity, brusselator_sparsity

# ColPack's best color counts from the issue: (problem, matrix) -> colors
COLPACK_BEST = {
    ("column", "brusselator N=128"): 11,
    ("column", "laplacian2d 1000^2"): 5,
    ("column", "laplacian3d 60^3"): 12,
    ("column", "random 100k x10"): 28,
    ("star", "laplacian2d 1000^2"): 5,
    ("star", "laplacian3d 60^3"): 11,
    ("star", "random 100k x10"): 47,
    ("star", "arrowhead n=10000"): 4,
    ("star", "arrowhead n=100000"): 4,
    ("acyclic", "brusselator N=128"): 6,
    ("acyclic", "laplacian2d 1000^2"): 4,
    ("acyclic", "laplacian3d 60^3"): 7,
    ("acyclic", "random 100k x10"): 18,
}

# ColPack's times from the issue (seconds): (problem, matrix, order) -> seconds
COLPACK_TIME = {
    ("column", "brusselator N=256", "largest_first"): 0.022,
    ("star", "laplacian2d 1000^2", "largest_first"): 0.49,
    ("acyclic", "laplacian3d 60^3", "largest_first"): 0.54,
    ("acyclic", "arrowhead n=10000", "largest_first"): 8.0,
    ("star", "arrowhead n=100000", "largest_first"): 0.020,
}

ORDERS = coloring.ORDER_NAMES
REPO = Path(__file__).resolve().parents[1]
# ../shared next to the checkout; a git worktree in <root>/wt/NAME finds <root>/shared
MATRIX_DIRS = [REPO.parent / "shared" / "matrices", REPO / "shared" / "matrices",
               REPO.parents[1] / "shared" / "matrices"]

#: Problems compared by the bicoloring benchmark (``--bicolor``).
BICOLOR_COMPARED = ("column", "row", "bicolor", "bicolor_substitution")

#: Published bicoloring counts (products) for matrices of this benchmark: (problem,
#: matrix) -> (count, source). None found for the four shared SuiteSparse matrices: the
#: papers with bicoloring tables (Gebremedhin, Manne, Pothen, SIAM Rev. 2005; Juedes and
#: Jones 2012; Gaur, Hossain, Singh, Algorithms 17(9) 377, 2024) were not readable here,
#: and SparseMatrixColorings.jl's tests only assert orderings of counts. Fill in with a
#: citation when a table is at hand.
PUBLISHED_BICOLOR: dict[tuple[str, str], tuple[int, str]] = {}


# ----------------------------------------------------------------------------- problems


def laplacian2d(N: int) -> sp.csr_array:
    """5-point Laplacian pattern on an N x N grid (Dirichlet, no wrap-around)."""
    T = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(N)
    A = sp.kron(T, I) + sp.kron(I, T)
    return _bool_csr(A)


def laplacian3d(N: int) -> sp.csr_array:
    """7-point Laplacian pattern on an N x N x N grid."""
    T = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(N)
    A = sp.kron(sp.kron(T, I), I) + sp.kron(sp.kron(I, T), I) + sp.kron(sp.kron(I, I), T)
    return _bool_csr(A)


def random_rows(n: int, per_row: int, seed: int = 0) -> sp.csr_array:
    """n x n pattern with ``per_row`` uniformly random columns per row (seeded)."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, size=n * per_row)
    return _bool_csr(sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n)))


def random_symmetric(n: int, per_row: int, seed: int = 0, *,
                     diagonal: bool = False) -> sp.csr_array:
    """``R | R.T`` for ``R = random_rows(n, per_row, seed)`` (and the diagonal): a
    symmetric pattern needing enough colors for an improvement pass to move."""
    R = random_rows(n, per_row, seed)
    A = R + R.T
    return _bool_csr(A + sp.eye_array(n, dtype=bool) if diagonal else A)


def nonsymmetric_arrowhead(n: int) -> sp.csr_array:
    """Dense first row, dense last column and the diagonal: column or row coloring needs
    n colors, a bicoloring 3 products."""
    i = np.arange(n)
    rows = np.concatenate([i, np.zeros(n, np.int64), i])
    cols = np.concatenate([i, i, np.full(n, n - 1)])
    return _bool_csr(sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n)))


def banded_dense(n: int, k: int, half_bandwidth: int = 2, seed: int = 0) -> sp.csr_array:
    """Band of ``2 * half_bandwidth + 1`` diagonals plus ``k`` dense rows and ``k`` dense
    columns at seeded random positions."""
    rng = np.random.default_rng(seed)
    offs = range(-half_bandwidth, half_bandwidth + 1)
    B = sp.diags_array([np.ones(n - abs(d)) for d in offs], offsets=list(offs), shape=(n, n))
    dense_rows = rng.choice(n, k, replace=False)
    dense_cols = rng.choice(n, k, replace=False)
    i = np.arange(n)
    rows = np.concatenate([np.repeat(dense_rows, n), np.tile(i, k)])
    cols = np.concatenate([np.tile(i, k), np.repeat(dense_cols, n)])
    D = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    return _bool_csr(B + D)


def random_dense(n: int, per_row: int, k: int, seed: int = 0) -> sp.csr_array:
    """:func:`random_rows` plus the diagonal, ``k`` dense rows and ``k`` dense columns."""
    rng = np.random.default_rng(seed + 1)
    i = np.arange(n)
    dense_rows = rng.choice(n, k, replace=False)
    dense_cols = rng.choice(n, k, replace=False)
    rows = np.concatenate([i, np.repeat(dense_rows, n), np.tile(i, k)])
    cols = np.concatenate([i, np.tile(i, k), np.repeat(dense_cols, n)])
    D = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    return _bool_csr(random_rows(n, per_row, seed) + D)


def _bool_csr(A) -> sp.csr_array:
    A = sp.csr_array(A)
    A.sum_duplicates()
    A.sort_indices()
    return sp.csr_array((np.ones(A.nnz, bool), A.indices, A.indptr), shape=A.shape)


def shared_matrices() -> dict[str, Callable[[], sp.csr_array]]:
    """SuiteSparse matrices from the shared folder (none if it is missing)."""
    import scipy.io

    folder = next((d for d in MATRIX_DIRS if d.is_dir()), None)
    if folder is None:
        return {}
    return {p.name: (lambda p=p: sp.csr_array(scipy.io.mmread(p)))
            for p in sorted(folder.glob("*.mtx"))}


def cases(quick: bool, smoke: bool = False
          ) -> list[tuple[str, Callable[[], sp.csr_array], tuple[str, ...]]]:
    """(matrix name, builder, problems) in the order they are run."""
    out: list[tuple[str, Callable[[], sp.csr_array], tuple[str, ...]]] = []
    if smoke:  # seconds: for the test suite
        return [("brusselator N=8", lambda: brusselator_sparsity(8), ("column", "row", "star",
                                                                       "acyclic"))]
    brus = (32, 64) if quick else (32, 64, 128, 256)
    for N in brus:
        out.append((f"brusselator N={N}", lambda N=N: brusselator_sparsity(N),
                    ("column", "acyclic", "star")))
    if quick:
        out.append(("laplacian2d 100^2", lambda: laplacian2d(100), ("column", "star", "acyclic")))
        out.append(("arrowhead n=1000", lambda: _bool_csr(arrowhead_hessian_sparsity(1000)),
                    ("column", "star", "acyclic")))
    else:
        for N in (500, 1000):
            out.append((f"laplacian2d {N}^2", lambda N=N: laplacian2d(N),
                        ("column", "star", "acyclic")))
        out.append(("laplacian3d 60^3", lambda: laplacian3d(60), ("column", "star", "acyclic")))
        out.append(("random 100k x10", lambda: random_rows(100_000, 10), ("column", "row", "star",
                                                                           "acyclic")))
        # column coloring of an arrowhead is quadratic for every greedy distance-2 code
        # (each column scans the dense row); n = 1e4 is still fine
        out.append(("arrowhead n=10000", lambda: _bool_csr(arrowhead_hessian_sparsity(10_000)),
                    ("column", "star", "acyclic")))
        out.append(("arrowhead n=100000", lambda: _bool_csr(arrowhead_hessian_sparsity(100_000)),
                    ("star", "acyclic")))
    for name, build in shared_matrices().items():
        out.append((name, build, ("column", "row", "star", "acyclic")))
    return out


# ------------------------------------------------------------------------------ timing


def median_seconds(fn: Callable[[], Any], repeats: int, budget: float = 5.0
                   ) -> tuple[Any, float, float]:
    """``(result, median wall seconds, median CPU seconds)`` of ``repeats`` calls.

    Fewer calls are made once ``budget`` seconds have passed. The CPU time of this
    process is reported too: on a loaded machine the wall time of a millisecond call is
    dominated by waiting for a core, while the (single-threaded) CPU time is not.
    """
    walls, cpus = [], []
    result = None
    start = time.perf_counter()
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget:
            break
    return result, statistics.median(walls), statistics.median(cpus)


def column_intersection_graph(A: sp.csr_array):
    """networkx graph of columns sharing a row (for networkx's greedy_color)."""
    import networkx as nx

    C = sp.csr_array(A.T.astype(np.int32) @ A.astype(np.int32))
    C.setdiag(0)
    C.eliminate_zeros()
    return nx.from_scipy_sparse_array(C)


def symmetric_or_none(A: sp.csr_array) -> sp.csr_array | None:
    if A.shape[0] != A.shape[1]:
        return None
    return A if (A != A.T).nnz == 0 else None


# -------------------------------------------------------------------------------- main


def _row(problem, matrix, A, method, colors, seconds, note="", cpu=None) -> dict:
    return {"problem": problem, "matrix": matrix, "n": int(A.shape[1]), "nnz": int(A.nnz),
            "method": method, "colors": colors, "seconds": seconds, "cpu_seconds": cpu,
            "colpack_best": COLPACK_BEST.get((problem, matrix)),
            "colpack_seconds": COLPACK_TIME.get((problem, matrix, method)), "note": note}


def _print_row(r: dict) -> None:
    ref = f"ColPack {r['colpack_best']:>4}" if r["colpack_best"] is not None else " " * 12
    ref_t = f"  (ColPack {r['colpack_seconds'] * 1e3:.0f} ms)" if r["colpack_seconds"] else ""
    colors = "-" if r["colors"] is None else r["colors"]
    secs = "-" if r["seconds"] is None else f"{r['seconds'] * 1e3:10.2f} ms"
    if r.get("cpu_seconds") is not None:
        secs += f" (cpu {r['cpu_seconds'] * 1e3:.2f})"
    print(f"{r['problem']:8} {r['matrix']:20} n={r['n']:>8} nnz={r['nnz']:>9} "
          f"{r['method']:22} colors={colors!s:>6} {ref} {secs}{ref_t} {r['note']}", flush=True)


def run(quick: bool = False, *, peers: bool = True, only: Sequence[str] = (),
        smoke: bool = False) -> list[dict]:
    """Run the benchmark and return its rows (also printed one per line)."""
    from coloring import warmup

    rows: list[dict] = []
    t0 = time.perf_counter()
    compile_s = {p: warmup(p) for p in ("column", "row", "star", "acyclic")}
    print("# first-call (Numba compile or cache load) seconds: "
          + ", ".join(f"{p}={s:.3f}" for p, s in compile_s.items()), flush=True)
    print("# machine shared by several processes: medians of repeats; compare within a run",
          flush=True)
    repeats = 1 if smoke else 3 if quick else 5
    for matrix, build, problems in cases(quick, smoke):
        if only and not any(o in matrix for o in only):
            continue
        A = build()
        A = _bool_csr(A)
        for problem in problems:
            note = ""
            if problem in ("star", "acyclic") and symmetric_or_none(A) is None:
                if not matrix.startswith("random"):
                    rows.append(_row(problem, matrix, A, "-", None, None, "skipped: not symmetric"))
                    _print_row(rows[-1])
                    continue
                note = "pattern A|A^T"
            M = _bool_csr(A + A.T) if note else A
            big = A.nnz > 2_000_000
            methods: list[tuple[str, Any, bool]] = [(o, o, False) for o in ORDERS]
            methods.append(("best", coloring.BEST_ORDERS, False))
            if problem in ("column", "row"):
                methods.append(("best+improve", coloring.BEST_ORDERS, True))
            for label, order, improve in methods:
                def fn(M=M, problem=problem, order=order, improve=improve):
                    return coloring.color(M, problem, order, seed=0, improve=improve)
                reps = 1 if (improve or big) else repeats
                try:
                    res, secs, cpu = median_seconds(fn, reps)
                except (NotImplementedError, coloring.ColoringError) as exc:
                    rows.append(_row(problem, matrix, M, label, None, None, f"error: {exc}"))
                else:
                    rows.append(_row(problem, matrix, M, label, res.ncolors, secs, note, cpu))
                _print_row(rows[-1])
            if problem == "column" and peers:
                rows.extend(_peers(matrix, A, repeats))
        if "column" in problems:
            rows.extend(_decompression_rows(matrix, A, repeats))
    print(f"# total {time.perf_counter() - t0:.1f} s", flush=True)
    return rows


def _peers(matrix: str, A: sp.csr_array, repeats: int) -> list[dict]:
    out = []
    # scipy's group_columns: a sequential Python-level greedy; ~1 minute near nnz 2e6
    if A.nnz <= 6_000_000:
        from scipy.optimize._numdiff import group_columns

        groups, secs, cpu = median_seconds(lambda: group_columns(A, order=0),
                                           1 if A.nnz > 1e5 else 3)
        out.append(_row("column", matrix, A, "scipy group_columns", int(groups.max()) + 1, secs,
                        cpu=cpu))
    else:
        out.append(_row("column", matrix, A, "scipy group_columns", None, None,
                        "skipped: would take over a minute"))
    _print_row(out[-1])
    # networkx needs the column-intersection graph: about sum(row nnz ** 2) edges
    edges = int((np.diff(A.indptr).astype(np.int64) ** 2).sum())
    if A.shape[1] <= 40_000 and edges <= 2_000_000:
        import networkx as nx

        G = column_intersection_graph(A)
        res, secs, cpu = median_seconds(lambda: nx.greedy_color(G, "largest_first"), 1)
        out.append(_row("column", matrix, A, "networkx largest_first", max(res.values()) + 1
                        if res else 0, secs, "graph build not timed", cpu))
    else:
        out.append(_row("column", matrix, A, "networkx largest_first", None, None,
                        "skipped: would take over a minute"))
    _print_row(out[-1])
    return out


def _decompression_rows(matrix: str, A: sp.csr_array, repeats: int) -> list[dict]:
    """Decompression (batch-first B, out=) against one numpy gather of nnz values."""
    res = coloring.color(A, "column", "largest_first")
    rng = np.random.default_rng(0)
    P = rng.standard_normal((res.ncolors, A.shape[0]))  # batch-first products (k, m)
    B = P.T
    out = res.decompress(B)
    flat = P.reshape(-1)
    idx = res.decompression_index().flat_index
    reps = max(repeats, 20) if repeats > 1 else 3
    _, t_dec, _ = median_seconds(lambda: res.decompress(B, out=out), reps)
    _, t_new, _ = median_seconds(lambda: res.decompress(B), reps)
    _, t_gather, _ = median_seconds(lambda: flat[idx], reps)  # one plain numpy gather
    rows = [_row("decomp", matrix, A, "decompress out=", res.ncolors, t_dec,
                 f"ratio to one numpy gather: {t_dec / t_gather:.2f}"),
            _row("decomp", matrix, A, "decompress (new csr)", res.ncolors, t_new,
                 f"ratio to one numpy gather: {t_new / t_gather:.2f}"),
            _row("decomp", matrix, A, "numpy gather flat[idx]", None, t_gather)]
    for r in rows:
        _print_row(r)
    return rows


def bicolor_cases(quick: bool) -> list[tuple[str, Callable[[], sp.csr_array], bool]]:
    """(matrix, builder, one-sided colorings feasible) for the bicoloring comparison.

    One-sided (column, row) greedy colorings scan every dense row (column) once per
    column (row) of it, i.e. quadratic work: they are skipped where that takes minutes.
    """
    out: list[tuple[str, Callable[[], sp.csr_array], bool]] = []
    sizes = (10_000,) if quick else (10_000, 100_000)
    for n in sizes:
        out.append((f"arrowhead n={n}", lambda n=n: nonsymmetric_arrowhead(n), n <= 10_000))
    out.append(("banded n=10000 k=3", lambda: banded_dense(10_000, 3), True))
    out.append(("banded n=10000 k=10", lambda: banded_dense(10_000, 10), True))
    out.append(("random n=10000 x10 k=3", lambda: random_dense(10_000, 10, 3), True))
    if not quick:
        # about 1e6 nonzeros: the time of a bicoloring should grow about linearly
        out.append(("random n=100000 x10 k=3", lambda: random_dense(100_000, 10, 3), False))
    for name, build in shared_matrices().items():
        out.append((name, build, True))
    return out


def run_bicolor(quick: bool = False, only: Sequence[str] = ()) -> list[dict]:
    """Colors (products) and median seconds of column, row and both bicolorings.

    Each problem runs with largest-first (the default) and with :data:`coloring.BEST_ORDERS`
    plus the improvement pass; a shared pattern is colored as stored (symmetric files
    expanded to both triangles by ``scipy.io.mmread``).
    """
    from coloring import warmup

    compile_s = {p: warmup(p) for p in BICOLOR_COMPARED}
    print("# first-call (Numba compile or cache load) seconds: "
          + ", ".join(f"{p}={s:.3f}" for p, s in compile_s.items()), flush=True)
    rows: list[dict] = []
    repeats = 3 if quick else 5
    for matrix, build, one_sided in bicolor_cases(quick):
        if only and not any(o in matrix for o in only):
            continue
        A = _bool_csr(build())
        for problem in BICOLOR_COMPARED:
            for label, order, improve in (("largest_first", "largest_first", False),
                                          ("best+improve", coloring.BEST_ORDERS, True)):
                if problem in ("column", "row") and not one_sided:
                    r = _row(problem, matrix, A, label, None, None,
                             "skipped: quadratic in the dense rows/columns")
                else:
                    def fn(A=A, problem=problem, order=order, improve=improve):
                        return coloring.color(A, problem, order, seed=0, improve=improve)
                    res, secs, cpu = median_seconds(fn, 1 if improve else repeats)
                    note = ""
                    if problem.startswith("bicolor"):
                        note = f"{res.ncolumn_colors} JVPs + {res.nrow_colors} VJPs"
                    r = _row(problem, matrix, A, label, res.ncolors, secs, note, cpu)
                published = PUBLISHED_BICOLOR.get((problem, matrix))
                r["published"] = published[0] if published else None
                r["published_source"] = published[1] if published else None
                rows.append(r)
                _print_row(r)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coloring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small problems only")
    parser.add_argument("--json", help="write all rows to this JSON file")
    parser.add_argument("--smoke", action="store_true",
                        help="one tiny matrix, one repeat (for the test suite)")
    parser.add_argument("--no-peers", action="store_true", help="skip scipy and networkx")
    parser.add_argument("--only", action="append", default=[],
                        help="run only matrices whose name contains this (repeatable)")
    parser.add_argument("--bicolor", action="store_true",
                        help="compare column, row, bicolor and bicolor_substitution instead")
    args = parser.parse_args(argv)
    if args.bicolor:
        rows = run_bicolor(args.quick, only=args.only)
    else:
        rows = run(args.quick, peers=not args.no_peers, only=args.only, smoke=args.smoke)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
