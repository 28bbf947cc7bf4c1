"""coloring: Numba graph coloring, compression and decompression of sparse matrices.

>>> import scipy.sparse as sp, coloring
>>> result = coloring.color(sp.eye(4, format="csr"), problem="column")
>>> result.ncolors
1

Main entry points: :func:`color`, :func:`check`, :class:`ColoringResult` and, for
bicolorings (``problem="bicolor"``: some JVPs and some VJPs), :class:`BicoloringResult`.
Orderings and improvement passes are tables of named strategies (:data:`ORDERINGS`,
:data:`GRAPH_ORDERINGS`, :data:`IMPROVEMENTS`).

Typical use for a Jacobian evaluated many times::

    result = coloring.color(J_pattern, "column", coloring.BEST_ORDERS, improve=True)
    V = result.seed_matrix(batch_first=True)      # (k, n) tangents, one per color
    P = jvp_batch(V)                               # (k, m) products, batch first
    J = result.decompress(P.T)                     # csr_array with J's exact pattern
    result.decompress(P.T, out=J)                  # later: refill J.data in place

``largest_first`` alone is the cheapest order; ``BEST_ORDERS`` plus ``improve`` gives the
fewest colors (10 on the 2D Brusselator, where single greedy orders give 11-13).
Kernels are Numba-compiled on first use and cached on disk (Numba itself is imported only
then); patterns with fewer than ``coloring._small.COMPILE_MIN_SIZE`` stored entries are
colored by numpy twins of the column and row kernels, so small problems compile nothing.
:func:`warmup` returns the first-call (compile or cache-load) time so benchmarks can
report it separately.
"""

from ._api import BEST_ORDERS, DEFAULT_IMPROVE_ITERATIONS, check, color, warmup
from ._bicolor import BicoloringResult
from ._errors import ColoringError
from ._greedy import IMPROVEMENTS, greedy_color
from ._greedy import iterated_greedy_distance2 as iterated_greedy
from ._orderings import GRAPH_ORDERINGS, ORDER_NAMES, ORDERINGS, NeighborhoodGraph
from ._pattern import is_symmetric_pattern
from ._result import PROBLEMS, ColoringResult

__all__ = [
    "color",
    "check",
    "is_symmetric_pattern",
    "ColoringResult",
    "BicoloringResult",
    "ColoringError",
    "ORDERINGS",
    "GRAPH_ORDERINGS",
    "ORDER_NAMES",
    "IMPROVEMENTS",
    "PROBLEMS",
    "BEST_ORDERS",
    "DEFAULT_IMPROVE_ITERATIONS",
    "NeighborhoodGraph",
    "greedy_color",
    "iterated_greedy",
    "warmup",
]
