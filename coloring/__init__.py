"""coloring: Numba graph coloring, compression and decompression of sparse matrices.

>>> import scipy.sparse as sp, coloring
>>> result = coloring.color(sp.eye(4, format="csr"), problem="column")
>>> result.ncolors
1

Main entry points: :func:`color`, :func:`check` and :class:`ColoringResult`. Orderings
and improvement passes are tables of named strategies (:data:`ORDERINGS`,
:data:`GRAPH_ORDERINGS`, :data:`IMPROVEMENTS`).
"""

from ._api import BEST_ORDERS, DEFAULT_IMPROVE_ITERATIONS, check, color
from ._errors import ColoringError
from ._greedy import IMPROVEMENTS, greedy_color, iterated_greedy
from ._orderings import GRAPH_ORDERINGS, ORDER_NAMES, ORDERINGS, NeighborhoodGraph
from ._result import PROBLEMS, ColoringResult

__all__ = [
    "color",
    "check",
    "ColoringResult",
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
]
