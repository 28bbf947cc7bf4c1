"""Public entry points: :func:`color` and :func:`check`."""

from __future__ import annotations

import importlib
import time
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from . import _small
from ._errors import ColoringError
from ._greedy import IMPROVEMENTS, greedy_color
from ._orderings import GRAPH_ORDERINGS, ORDER_NAMES, ORDERINGS, NeighborhoodGraph
from ._pattern import as_pattern, is_symmetric_pattern, transpose_pattern
from ._result import PROBLEMS, ColoringResult

__all__ = ["color", "check", "warmup", "BEST_ORDERS", "DEFAULT_IMPROVE_ITERATIONS"]

#: Orders worth trying together: ``color(A, order=BEST_ORDERS, improve=True)``.
BEST_ORDERS: tuple[str, ...] = ("largest_first", "smallest_last", "incidence_degree",
                                "dynamic_largest_first")

#: Greedy passes of the improvement when ``improve=True``.
DEFAULT_IMPROVE_ITERATIONS = 100

_SYMMETRIC = ("star", "acyclic")


def _normalize_orders(order: str | Sequence[str]) -> tuple[str, ...]:
    orders = (order,) if isinstance(order, str) else tuple(order)
    if not orders:
        raise ColoringError("order must be a name or a non-empty tuple of names")
    for name in orders:
        if not isinstance(name, str) or name not in GRAPH_ORDERINGS:
            raise ColoringError(
                f"unknown order {name!r}; use one of {sorted(GRAPH_ORDERINGS)} "
                f"or a tuple of them")
    return orders


def _improve_iterations(improve: bool | int) -> int:
    if improve is True:
        return DEFAULT_IMPROVE_ITERATIONS
    if improve is False or improve is None:
        return 0
    if isinstance(improve, (int, np.integer)) and improve >= 0:
        return int(improve)
    raise ColoringError(f"improve must be a bool or a number of passes >= 0, got {improve!r}")


def _symmetric_module():
    """C2's symmetric coloring module, or None while it does not exist yet."""
    try:
        return importlib.import_module("coloring._symmetric")
    except ModuleNotFoundError as exc:
        if exc.name == "coloring._symmetric":
            return None
        raise


def _bipartite_graph(P: sp.csr_array, problem: str) -> NeighborhoodGraph:
    tptr, tind = transpose_pattern(P)
    if problem == "column":
        return NeighborhoodGraph.bipartite(tptr, tind, P.indptr, P.indices)
    return NeighborhoodGraph.bipartite(P.indptr, P.indices, tptr, tind)


def _max_count(indptr: np.ndarray) -> int:
    return int(np.diff(indptr).max()) if indptr.size > 1 else 0


def color(A: Any, problem: str = "column", order: str | Sequence[str] = "largest_first", *,
          seed: Any = None, improve: bool | int = False, time_limit: float | None = None,
          symmetrize: bool = False) -> ColoringResult:
    """Color the columns (or rows) of a sparsity pattern for compressed differentiation.

    Parameters
    ----------
    A : scipy.sparse matrix or array, numpy.ndarray, or networkx graph
        The pattern. Every stored entry of a sparse input is structural (explicit zeros
        too); a dense array contributes its nonzeros; a graph its edges (both
        directions) plus the diagonal.
    problem : {"column", "row", "star", "acyclic"}
        ``"column"``: partial distance-2 coloring of the columns (for JVPs). ``"row"``:
        of the rows (for VJPs). ``"star"`` / ``"acyclic"``: symmetric matrices, direct
        decompression / decompression by substitution.
    order : str or tuple of str
        One of ``"natural"``, ``"random"``, ``"largest_first"``, ``"smallest_last"``,
        ``"incidence_degree"``, ``"dynamic_largest_first"``, or a tuple of them: each is
        tried and the coloring with fewest colors kept (the first on ties).
    seed : int or numpy.random.Generator, optional
        Seed of the ``"random"`` order and of the improvement pass.
    improve : bool or int
        Run an improvement pass on the kept coloring for up to this many passes (``True``:
        100), stopping early at the lower bound. Column and row problems: Culberson's
        iterated greedy (also stops after 20 passes without progress). Star and acyclic
        problems: greedy re-runs on class-grouped and perturbed orders
        (:mod:`coloring._symmetric_improve`). Never increases the number of colors.
    time_limit : float, optional
        Seconds allowed to the improvement pass (checked between passes). Default: as
        long as the orderings took, and at least 0.1 s.
    symmetrize : bool
        Star and acyclic problems: color ``A | A.T`` instead of raising on a
        non-symmetric pattern.

    Returns
    -------
    ColoringResult

    Raises
    ------
    ColoringError
        Unknown problem or order, a non-square or non-symmetric pattern for a symmetric
        problem (unless ``symmetrize``), or an input that is not a 2-D matrix.
    NotImplementedError
        For star/acyclic problems while the symmetric coloring module is unavailable.
    """
    if problem not in PROBLEMS:
        raise ColoringError(f"unknown problem {problem!r}; use one of {PROBLEMS}")
    orders = _normalize_orders(order)
    iterations = _improve_iterations(improve)
    P = as_pattern(A)
    if problem in _SYMMETRIC:
        return _color_symmetric(P, problem, orders, seed, symmetrize, iterations, time_limit)

    graph = _bipartite_graph(P, problem)
    # lower bound: all columns of a row (rows of a column) need distinct colors
    lower = _max_count(graph.p2)  # rows' columns (column problem) or columns' rows (row)
    best, best_k, best_name, tried = None, None, "", {}
    start = time.perf_counter()
    for name in orders:
        perm = GRAPH_ORDERINGS[name](graph, seed)
        colors = greedy_color(graph, perm)
        k = int(colors.max()) + 1 if colors.size else 0
        tried[name] = k
        if best_k is None or k < best_k:
            best, best_k, best_name = colors, k, name
        if best_k <= lower:
            break
    if iterations and best_k > lower:
        if time_limit is None:
            time_limit = max(0.1, time.perf_counter() - start)
        improved = IMPROVEMENTS["iterated_greedy"](graph, best, iterations=iterations,
                                                   time_limit=time_limit, lower_bound=lower,
                                                   seed=seed)
        best_k_improved = int(improved.max()) + 1
        if best_k_improved < best_k:
            best, best_name = improved, best_name + "+iterated_greedy"
    return ColoringResult(P, best, problem, order=best_name, lower_bound=lower,
                          orders_tried=tried)


def _color_symmetric(P: sp.csr_array, problem: str, orders: tuple[str, ...], seed: Any,
                     symmetrize: bool, iterations: int = 0,
                     time_limit: float | None = None) -> ColoringResult:
    m, n = P.shape
    if m != n:
        raise ColoringError(f"problem={problem!r} needs a square symmetric pattern, "
                            f"got shape {P.shape}; use problem='column' for Jacobians")
    module = _symmetric_module()
    if module is None:
        raise NotImplementedError(
            f"problem={problem!r} is not available yet (coloring._symmetric is missing)")
    # The edge numbering is the one symmetry check (P is canonical: sorted, no duplicates);
    # the graph is built once and shared by every order and the improvement pass.
    try:
        graph = module.SymmetricGraph(P.indptr, P.indices)
    except module.UnmirroredEntryError as exc:
        if not symmetrize:
            i, j = exc.entry
            raise ColoringError(
                f"problem={problem!r} needs a symmetric pattern, but entry ({i}, {j}) is "
                f"stored and ({j}, {i}) is not; pass symmetrize=True to color A | A.T, "
                f"or use problem='column'") from None
        P = as_pattern(P + P.T)
        graph = module.SymmetricGraph(P.indptr, P.indices)
    lower = clique_lower_bound(P.indptr, P.indices)
    best, best_k, best_name, best_perm, tried = None, None, "", None, {}
    start = time.perf_counter()
    for name in orders:
        perm = ORDERINGS[name](P.indptr, P.indices, seed)
        plan = module.color_symmetric(P.indptr, P.indices, problem, perm, graph=graph)
        k = int(plan.ncolors)
        tried[name] = k
        if best_k is None or k < best_k:
            best, best_k, best_name, best_perm = plan, k, name, perm
    # ``lower`` is a clique found greedily: usually far from the optimum, so the
    # improvement runs whenever more than 2 colors are used
    if iterations and best_k > max(2, lower):
        if time_limit is None:
            time_limit = max(0.1, time.perf_counter() - start)
        # the improvement search starts from the best order's coloring and keeps the best
        # seen (that coloring included), so it never adds colors
        improved = module.color_symmetric(P.indptr, P.indices, problem, best_perm,
                                          improve=iterations, time_limit=time_limit,
                                          seed=seed, graph=graph)
        if improved.ncolors < best_k:
            best, best_name = improved, best_name + "+iterated_greedy"
    return ColoringResult(P, best.colors, problem, order=best_name, plan=best,
                          lower_bound=lower, orders_tried=tried)


def clique_lower_bound(indptr: np.ndarray, indices: np.ndarray, *, starts: int = 16,
                       candidates: int = 64) -> int:
    """Size of a clique of the graph of a symmetric pattern, found greedily.

    Star and acyclic colorings are proper (distance-1) colorings, so the vertices of a
    clique need distinct colors and its size bounds the number of colors from below.
    (The maximum degree plus one is *not* a bound here: an arrowhead, whose hub touches
    every vertex, has a star coloring with 2 colors.) The search starts from the
    ``starts`` vertices of highest degree and tries at most ``candidates`` of each
    one's neighbors, highest degree first, so it costs O(starts * candidates * degree)
    whatever the size of the graph.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        CSR arrays of a structurally symmetric pattern (the diagonal is ignored).
    starts, candidates : int
        Limits of the greedy search.

    Returns
    -------
    int
        0 for an empty graph, 1 without off-diagonal entries, else the clique's size.
    """
    n = indptr.size - 1
    if n <= 0:
        return 0
    deg = np.diff(indptr)
    best = 1
    # a stable sort of small integers is a radix sort: ~4 ms for n = 1e6 (argpartition,
    # with so many equal degrees, took 40x longer)
    for v in np.argsort(-deg, kind="stable")[:starts]:
        nbrs = indices[indptr[v]:indptr[v + 1]]
        nbrs = nbrs[nbrs != v]
        if nbrs.size + 1 <= best:
            break  # later starts have no more neighbors: no bigger clique through them
        clique = [int(v)]
        for c in nbrs[np.argsort(-deg[nbrs], kind="stable")][:candidates]:
            row = indices[indptr[c]:indptr[c + 1]]
            if np.isin(clique, row, assume_unique=True).all():
                clique.append(int(c))
        best = max(best, len(clique))
    return best


def _duplicate_pair(keys: np.ndarray) -> tuple[int, int] | None:
    """Positions ``(p, q)`` of two equal entries of ``keys``, or None."""
    if keys.size < 2:
        return None
    perm = np.argsort(keys, kind="stable")
    sk = keys[perm]
    dup = np.flatnonzero(sk[1:] == sk[:-1])
    if dup.size == 0:
        return None
    return int(perm[dup[0]]), int(perm[dup[0] + 1])


def check(A: Any, result: ColoringResult) -> None:
    """Verify that ``result`` is a valid coloring of the pattern of ``A``.

    Column problems: no two columns of one color share a row (structural
    orthogonality); row problems likewise for rows; star and acyclic problems: the star
    or acyclic property, checked by the symmetric coloring module.

    Raises
    ------
    ColoringError
        Naming an offending pair of columns (or rows) and their shared row (column), or a
        mismatch of shapes or color counts.
    """
    if not isinstance(result, ColoringResult):
        raise ColoringError(f"expected a ColoringResult, got {type(result).__name__}")
    P = as_pattern(A)
    m, n = P.shape
    problem = result.problem
    colors = np.asarray(result.colors)
    expected = m if problem == "row" else n
    if colors.shape != (expected,):
        raise ColoringError(f"{problem} coloring has {colors.size} colors entries, but the "
                            f"matrix of shape {P.shape} needs {expected}")
    if colors.size and (colors.min() < 0 or colors.max() >= max(result.ncolors, 1)):
        raise ColoringError(f"colors must lie in 0..{result.ncolors - 1}")
    if problem in _SYMMETRIC:
        module = _symmetric_module()
        if module is None:
            raise NotImplementedError("symmetric colorings cannot be checked yet")
        if result.pattern.shape == P.shape and not is_symmetric_pattern(P)[0]:
            P = as_pattern(P + P.T)
        module.check_symmetric(P.indptr, P.indices, colors, problem)
        return
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(P.indptr))
    cols = P.indices
    k = max(result.ncolors, 1)
    # column problem: columns (colored) sharing a row must differ; row problem: mirrored
    colored, shared, names = ((cols, rows, ("columns", "row")) if problem == "column"
                              else (rows, cols, ("rows", "column")))
    pair = _duplicate_pair(shared * k + colors[colored])
    if pair is not None:
        p, q = pair
        raise ColoringError(
            f"{names[0]} {colored[p]} and {colored[q]} both have color "
            f"{colors[colored[p]]} and share {names[1]} {shared[p]}: not structurally "
            f"orthogonal")


def warmup(problem: str = "column", orders: str | Sequence[str] = ORDER_NAMES) -> float:
    """Compile (or load from Numba's disk cache) the kernels ``problem`` and ``orders`` use.

    Patterns with fewer stored entries than ``coloring._small.COMPILE_MIN_SIZE`` are
    colored by numpy twins of the column and row kernels and compile nothing; the warm-up
    therefore colors a tridiagonal pattern just above that size, which takes the
    compiled path of every problem.

    Returns
    -------
    float
        Seconds spent: the first-call overhead that later calls on large patterns do not
        pay (loading from the cache once the kernels were compiled on this machine).
    """
    start = time.perf_counter()
    n = _small.COMPILE_MIN_SIZE // 3 + 2
    A = sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                       format="csr")
    improve = 2 if problem in ("column", "row") else 0
    result = color(A, problem, _normalize_orders(orders), seed=0, improve=improve)
    result.decompress(result.compress(A))
    return time.perf_counter() - start
