"""Bidirectional Jacobians: bicoloring figures and a nonsymmetric arrowhead end to end.

Run ``python -m benchmarks.bidirectional`` (``--quick`` for a short run). Two parts:

1. Coloring (:func:`benchmarks.coloring.run_bicolor`): products and median seconds of
   column, row, ``bicolor`` and ``bicolor_substitution`` colorings on the nonsymmetric
   arrowhead, banded and random patterns with dense rows and columns, and the shared
   SuiteSparse matrices.
2. End to end with the JAX backend: the Jacobian of ``f(x) = [sum(x^2), x[1:] * x[-1] +
   sin(x[1:])]`` (a dense first row and a dense last column) prepared with
   ``mode="column"``, ``"row"`` and ``"bidirectional"`` (the pattern given, so the
   preparation time is coloring, planning and compiling): products per Jacobian, the
   preparation plus first call, and the steady-state median of ``J(x)``.

``--docs`` writes ``docs/bidirectional.json`` and the README section between
:data:`README_START` and :data:`README_END` (a drift test keeps them in sync). Timings
are medians of repeats on whatever machine runs it; compare within one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from benchmarks._timing import fmt_time, markdown_table, replace_readme_section, steady_time
from benchmarks.coloring import nonsymmetric_arrowhead, run_bicolor

REPO = Path(__file__).resolve().parents[1]
DOCS_JSON = REPO / "docs" / "bidirectional.json"
README = REPO / "README.md"
README_START = "<!-- bidirectional:start -->"
README_END = "<!-- bidirectional:end -->"


def arrow_f(xp):
    """``f`` of the end-to-end case in the array namespace ``xp``."""
    def f(x):
        return xp.concatenate([xp.sum(x ** 2).reshape(1), x[1:] * x[-1] + xp.sin(x[1:])])
    return f


def arrow_pattern(n: int) -> sp.csr_array:
    """Exact pattern of :func:`arrow_f`: row 0 dense, column n-1 dense, the diagonal."""
    return nonsymmetric_arrowhead(n)


def run_end_to_end(sizes: Sequence[int], quick: bool = False) -> list[dict[str, Any]]:
    """Products and times of the arrowhead Jacobian per mode (JAX backend, float64)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import sparsead

    rows = []
    f = arrow_f(jnp)
    for n in sizes:
        x = np.linspace(0.1, 1.0, n)
        P = arrow_pattern(n)
        for mode in ("column", "row", "bidirectional"):
            if mode != "bidirectional" and n > 5000:
                rows.append({"n": n, "mode": mode, "products": n, "prepare_s": None,
                             "steady_s": None,
                             "note": "skipped: n products of n-vectors (dense seeds)"})
                print(rows[-1], flush=True)
                continue
            t = time.perf_counter()
            J = sparsead.prepare_jacobian(f, x, backend="jax", sparsity=P, mode=mode)
            M = J(x)
            prepare = time.perf_counter() - t
            steady = steady_time(lambda J=J, M=M, x=x: J(x, out=M), repeats=3 if quick else 7)
            ref_ok = bool(np.allclose(M[[0], :].toarray().ravel(), 2 * x))
            rows.append({"n": n, "mode": J.mode, "products": J.ncolors,
                         "prepare_s": prepare, "steady_s": steady,
                         "note": "" if ref_ok else "values differ"})
            print(rows[-1], flush=True)
    return rows


def render(data: dict[str, Any]) -> str:
    """The README section (between the markers) from the saved results."""
    col = data["coloring"]
    by = {(r["matrix"], r["problem"], r["method"]): r for r in col}
    matrices = list(dict.fromkeys(r["matrix"] for r in col))
    table = []
    for mat in matrices:
        cells = [mat, str(next(r["nnz"] for r in col if r["matrix"] == mat))]
        for problem in ("column", "row", "bicolor", "bicolor_substitution"):
            lf = by.get((mat, problem, "largest_first"))
            best = by.get((mat, problem, "best+improve"))
            if lf is None or lf["colors"] is None:
                cells.append("-")
                continue
            text = f"{lf['colors']} ({fmt_time(lf['seconds'])})"
            if best is not None and best["colors"] is not None:
                text += f" / {best['colors']}"
            cells.append(text)
        pub = [f"{r['published']} ({r['published_source']})" for r in col
               if r["matrix"] == mat and r.get("published") is not None]
        cells.append(", ".join(pub) if pub else "none found")
        table.append(cells)
    coloring_table = markdown_table(
        ["matrix", "nnz", "column", "row", "bicolor", "bicolor_substitution",
         "published bicoloring"], table)
    e2e = markdown_table(
        ["n", "mode", "products per Jacobian", "prepare + first call", "J(x, out=M) median"],
        [[str(r["n"]), r["mode"], str(r["products"]),
          fmt_time(r["prepare_s"]) if r["prepare_s"] is not None else "-",
          fmt_time(r["steady_s"]) if r["steady_s"] is not None else r["note"]]
         for r in data["end_to_end"]])
    return "\n".join([
        README_START,
        "",
        f"Products per Jacobian (colors; largest-first with its median time / best orders "
        f"plus the improvement pass), from `python -m benchmarks.bidirectional --docs` "
        f"({data['machine']}). `-`: a one-sided greedy coloring is quadratic in the dense "
        f"rows/columns and was not run.",
        "",
        coloring_table,
        "",
        "The nonsymmetric arrowhead end to end with the JAX backend (float64, pattern given):",
        "",
        e2e,
        "",
        README_END,
    ])


def update_readme(text: str) -> None:
    """Replace the README's bidirectional section with ``text``."""
    replace_readme_section(README, README_START, README_END, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bidirectional",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small problems only")
    parser.add_argument("--docs", action="store_true",
                        help="write docs/bidirectional.json and the README section")
    parser.add_argument("--machine", default="a shared 2-core machine under load",
                        help="how to describe the machine in the README")
    args = parser.parse_args(argv)
    coloring_rows = run_bicolor(args.quick)
    sizes = (1000, 10_000) if args.quick else (1000, 4000, 10_000, 100_000)
    data = {"machine": args.machine, "coloring": coloring_rows,
            "end_to_end": run_end_to_end(sizes, args.quick)}
    if args.docs:
        DOCS_JSON.write_text(json.dumps(data, indent=1))
        update_readme(render(data))
    else:
        print(render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
