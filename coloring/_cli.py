"""Command line: ``python -m coloring MATRIX.mtx --problem column --order largest_first``.

Reads a Matrix Market file, colors it, and prints the size, the number of colors, a
lower bound on the number of colors, and the time. Numba compilation (or loading its
on-disk cache) is timed separately, by :func:`coloring.warmup`, so ``seconds`` is the
steady-state cost.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Sequence

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._api import BEST_ORDERS, color, warmup
from ._bicolor import BICOLOR_PROBLEMS
from ._errors import ColoringError
from ._orderings import ORDER_NAMES
from ._result import PROBLEMS


def _parse_orders(text: str) -> str | tuple[str, ...]:
    if text == "best":
        return BEST_ORDERS
    if text == "all":
        return ORDER_NAMES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    return names[0] if len(names) == 1 else names


#: What each problem's printed lower bound is (``ColoringResult.lower_bound``).
BOUND_NAMES = {
    "column": "lower bound (max nonzeros in a row)",
    "row": "lower bound (max nonzeros in a column)",
    "star": "lower bound (size of a clique found greedily)",
    "acyclic": "lower bound (size of a clique found greedily)",
    # one product can recover a pattern (a diagonal one) but no fewer
    "bicolor": "lower bound (nonempty pattern)",
    "bicolor_substitution": "lower bound (nonempty pattern)",
}


def as_flags(message: str) -> str:
    """A library error message with its keyword arguments spelled as this CLI's flags."""
    message = re.sub(r"\bsymmetrize=True\b", "--symmetrize", message)
    return re.sub(r"\b(problem|order|improve|seed)=(['\"]?)(\w+)\2", r"--\1 \3", message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option's help names its default."""
    parser = argparse.ArgumentParser(
        prog="python -m coloring",
        description="Color a sparse matrix (Matrix Market file) for compressed derivatives.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("matrix", help="path of a Matrix Market (.mtx) file")
    parser.add_argument("--problem", default="column", choices=PROBLEMS,
                        help="column: columns for JVPs (Jacobians); row: rows for VJPs; "
                             "star / acyclic: symmetric matrices (Hessians), direct "
                             "decompression / decompression by substitution; "
                             "bicolor / bicolor_substitution: JVPs and VJPs together, "
                             "for patterns with dense rows and columns")
    parser.add_argument("--order", default="largest_first",
                        help=f"vertex order, one of {', '.join(ORDER_NAMES)}; a "
                             f"comma-separated list (the best is kept); 'best' "
                             f"({', '.join(BEST_ORDERS)}) or 'all'")
    parser.add_argument("--improve", type=int, default=0,
                        help="passes of the improvement after coloring (iterated greedy "
                             "for column/row, recoloring for star/acyclic); 0: none")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random order and of the improvement")
    parser.add_argument("--symmetrize", action="store_true",
                        help="star/acyclic: color A | A.T when A is not symmetric")
    parser.add_argument("--output", default=None,
                        help="write the colors, one per line, to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
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
        print(f"error: {as_flags(str(exc))}", file=sys.stderr)
        return 2
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
    print(f"{BOUND_NAMES.get(args.problem, 'lower bound')}: {result.lower_bound}")
    print(f"seconds: {seconds:.6f}")
    print(f"compile seconds: {compile_s:.6f}")
    if args.output:
        # bicolorings: the m row colors, then the n column colors (0: in no product)
        colors = (np.concatenate([result.row_colors, result.column_colors])
                  if args.problem in BICOLOR_PROBLEMS else result.colors)
        np.savetxt(args.output, colors, fmt="%d")
        print(f"colors written to: {args.output}")
    return 0
