"""Command line: ``python -m coloring MATRIX.mtx --problem column --order largest_first``.

Reads a Matrix Market file, colors it, and prints the size, the number of colors, a
bound to compare with, and the time. Numba compilation (or loading its on-disk cache) is
timed separately, on a tiny warm-up matrix, so ``seconds`` is the steady-state cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._api import BEST_ORDERS, color
from ._bicolor import BICOLOR_PROBLEMS
from ._errors import ColoringError
from ._orderings import ORDER_NAMES
from ._result import PROBLEMS


def warmup(problem: str = "column", orders: Sequence[str] = ORDER_NAMES) -> float:
    """Compile (or load from cache) the kernels used by ``problem`` and ``orders``.

    Returns
    -------
    float
        Seconds spent, i.e. the first-call overhead that later calls do not pay.
    """
    start = time.perf_counter()
    A = sp.csr_array(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float))
    improve = 2 if problem in ("column", "row") else 0
    result = color(A, problem, tuple(orders), seed=0, improve=improve)
    if problem in BICOLOR_PROBLEMS:
        result.decompress(*result.compress(A))
    else:
        result.decompress(result.compress(A))
    return time.perf_counter() - start


def _parse_orders(text: str) -> str | tuple[str, ...]:
    if text == "best":
        return BEST_ORDERS
    if text == "all":
        return ORDER_NAMES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    return names[0] if len(names) == 1 else names


def bound_description(A: sp.csr_array, problem: str) -> tuple[str, int]:
    """The reference bound printed next to the colors, with its name."""
    m, n = A.shape
    if problem == "column":
        return "lower bound (max nonzeros in a row)", int(np.diff(A.indptr).max()) if m else 0
    if problem == "row":
        counts = np.bincount(A.indices, minlength=n)
        return "lower bound (max nonzeros in a column)", int(counts.max()) if n else 0
    if problem in BICOLOR_PROBLEMS:
        # one product can recover a pattern (a diagonal one) but no fewer
        return "lower bound (nonempty pattern)", int(A.nnz > 0)
    deg = np.diff(A.indptr) - (A.diagonal() != 0)
    # max degree + 1 bounds distance-2 colorings; star/acyclic colorings may use fewer
    return "max degree + 1", int(deg.max()) + 1 if n else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m coloring",
        description="Color a sparse matrix (Matrix Market file) for compressed derivatives.")
    parser.add_argument("matrix", help="path of a Matrix Market (.mtx) file")
    parser.add_argument("--problem", default="column", choices=PROBLEMS)
    parser.add_argument("--order", default="largest_first",
                        help=f"one of {', '.join(ORDER_NAMES)}; a comma-separated list "
                             f"(keep the best); 'best' or 'all'")
    parser.add_argument("--improve", type=int, default=0,
                        help="iterated-greedy passes after coloring (column/row problems)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random choices")
    parser.add_argument("--symmetrize", action="store_true",
                        help="star/acyclic: color A | A.T if A is not symmetric")
    parser.add_argument("--output", help="write the colors, one per line, to this file")
    args = parser.parse_args(argv)

    try:
        A = sp.csr_array(scipy.io.mmread(args.matrix))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.matrix!r} as Matrix Market: {exc}", file=sys.stderr)
        return 2
    orders = _parse_orders(args.order)
    try:
        compile_s = warmup(args.problem, (orders,) if isinstance(orders, str) else orders)
        start = time.perf_counter()
        result = color(A, args.problem, orders, seed=args.seed, improve=args.improve,
                       symmetrize=args.symmetrize)
        seconds = time.perf_counter() - start
    except (ColoringError, NotImplementedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bound_name, bound = bound_description(result.pattern, args.problem)
    m, n = A.shape
    print(f"matrix: {args.matrix}")
    print(f"n: {n} (shape {m} x {n})")
    print(f"nnz: {result.nnz}")
    print(f"problem: {args.problem}")
    print(f"order: {result.order}")
    if len(result.orders_tried) > 1:
        print("colors per order: " + ", ".join(f"{k}={v}" for k, v in result.orders_tried.items()))
    print(f"colors: {result.ncolors}")
    if args.problem in BICOLOR_PROBLEMS:
        print(f"column colors (JVPs): {result.ncolumn_colors}")
        print(f"row colors (VJPs): {result.nrow_colors}")
    print(f"{bound_name}: {bound}")
    print(f"seconds: {seconds:.6f}")
    print(f"compile seconds: {compile_s:.6f}")
    if args.output:
        # bicolorings: the m row colors, then the n column colors (0: in no product)
        colors = (np.concatenate([result.row_colors, result.column_colors])
                  if args.problem in BICOLOR_PROBLEMS else result.colors)
        np.savetxt(args.output, colors, fmt="%d")
        print(f"colors written to: {args.output}")
    return 0
