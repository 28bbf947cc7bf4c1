"""Draw the README's picture of a coloring: ``python docs/readme_figures.py``.

Writes ``docs/coloring_laplacian.png`` with :meth:`coloring.ColoringResult.plot` (the
documentation site draws its pictures while it builds; the README needs a file).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import scipy.sparse as sp  # noqa: E402

import coloring  # noqa: E402

OUT = Path(__file__).resolve().parent / "coloring_laplacian.png"


def main() -> None:
    T = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(8, 8))
    A = sp.csr_array(sp.kronsum(T, T))  # 2D 5-point Laplacian, n = 64
    result = coloring.color(A, problem="column", order=coloring.BEST_ORDERS, improve=True,
                            seed=0)
    pattern_ax, _ = result.plot()
    pattern_ax.figure.savefig(OUT, dpi=80)
    print(f"{OUT.name}: {result.ncolors} colors (lower bound {result.lower_bound})")


if __name__ == "__main__":
    main()
