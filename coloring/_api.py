"""Public entry points: :func:`color` and :func:`check`."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from ._bicolor import BICOLOR_PROBLEMS, BicoloringResult, bicolor, check_bicoloring
from ._errors import ColoringError
from ._greedy import IMPROVEMENTS, distance2_work, greedy_color, pass_work
from ._jit import njit
from ._orderings import GRAPH_ORDERINGS, ORDER_NAMES, ORDERINGS, NeighborhoodGraph
from ._pattern import as_pattern, is_symmetric_pattern, transpose_pattern
from ._result import PROBLEMS, ColoringResult
from ._small import COMPILE_MIN_SIZE, first_conflict, is_small
from .symmetric._coloring import SYMMETRIC_PROBLEMS, check_symmetric
from .symmetric._graph import (
    OVER_BUDGET,
    SymmetricGraph,
    UnmirroredEntryError,
    adjacency_order_work,
)
from .symmetric._improve import iterated_greedy_symmetric

__all__ = ["color", "check", "warmup", "BEST_ORDERS", "DEFAULT_IMPROVE_ITERATIONS",
           "IMPROVE_MIN_WORK", "SYMMETRIC_IMPROVE_MIN_WORK", "DEFAULT_EFFORT"]

#: Orders worth trying together: ``color(A, order=BEST_ORDERS, improve=True)``.
BEST_ORDERS: tuple[str, ...] = ("largest_first", "smallest_last", "incidence_degree",
                                "dynamic_largest_first")

#: Greedy passes of the improvement when ``improve=True``.
DEFAULT_IMPROVE_ITERATIONS = 100

#: Adjacency entries the improvement may always visit under an ``effort`` budget
#: (column and row problems): patterns up to a few hundred thousand nonzeros get every
#: pass they ask for, the budget only bites on large ones.
IMPROVE_MIN_WORK = 2**25

#: The same floor for star, acyclic and bicolor problems, in their kernels' counts
#: (adjacency positions, list walks per 8 entries, see :mod:`coloring.symmetric._star`):
#: patterns up to about 10^5 stored entries get (nearly) every pass of ``improve=20``.
SYMMETRIC_IMPROVE_MIN_WORK = 2**24

#: ``effort`` of the star, acyclic and bicolor improvements when none is given: they
#: may count as much as the orders did (and at least :data:`SYMMETRIC_IMPROVE_MIN_WORK`).
DEFAULT_EFFORT = 1.0

#: Work counted per vertex and per stored entry for relabeling the pattern in a round of
#: random tie-breaking: index arrays, a row permutation and a canonical copy, several
#: linear passes with scattered reads, which cost about as much as 8 of the kernels'
#: visits each.
RELABEL_WORK = 8

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


def _check_effort(effort: Any) -> float:
    if isinstance(effort, bool) or not isinstance(effort, (int, float, np.integer,
                                                            np.floating)) or not effort >= 0:
        raise ColoringError(f"effort must be a number >= 0, got {effort!r}")
    return float(effort)


def _bipartite_graph(P: sp.csr_array, problem: str) -> NeighborhoodGraph:
    tptr, tind = transpose_pattern(P)
    if problem == "column":
        return NeighborhoodGraph.bipartite(tptr, tind, P.indptr, P.indices)
    return NeighborhoodGraph.bipartite(P.indptr, P.indices, tptr, tind)


def _max_count(indptr: np.ndarray) -> int:
    return int(np.diff(indptr).max()) if indptr.size > 1 else 0


def color(A: Any, problem: str = "column", order: str | Sequence[str] = "largest_first", *,
          seed: Any = None, improve: bool | int = False, time_limit: float | None = None,
          symmetrize: bool = False, effort: float | None = None,
          postprocess: bool | None = None) -> ColoringResult | BicoloringResult:
    """Color the columns (or rows) of a sparsity pattern for compressed differentiation.

    Parameters
    ----------
    A : scipy.sparse matrix or array, numpy.ndarray, or networkx graph
        The pattern. Every stored entry of a sparse input is structural (explicit zeros
        too); a dense array contributes its nonzeros; a graph its edges (both
        directions) plus the diagonal.
    problem : {"column", "row", "star", "acyclic", "bicolor", "bicolor_substitution"}
        ``"column"``: partial distance-2 coloring of the columns (for JVPs). ``"row"``:
        of the rows (for VJPs). ``"star"`` / ``"acyclic"``: symmetric matrices, direct
        decompression / decompression by substitution. ``"bicolor"`` /
        ``"bicolor_substitution"``: some JVPs and some VJPs together, direct / by
        substitution (star / acyclic coloring of the bipartite graph, see
        :mod:`coloring._bicolor`); returns a :class:`BicoloringResult`.
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
        problems: first ``improve // 10`` rounds (at most half the budget) of the orders
        within one color of the best, recomputed with random tie-breaking, then greedy
        re-runs on class-grouped and perturbed orders (:mod:`coloring.symmetric._improve`);
        bicolor problems: the moves of :data:`coloring._bicolor.BICOLOR_MOVES`, keeping
        the fewest products. Never increases the number of colors.
    time_limit : float, optional
        Seconds allowed to the improvement pass (checked between passes). No time
        limit unless given; a given one is an extra cap (column and row problems given
        only a ``time_limit``: the only budget), which makes the result depend on the
        machine and its load.
    symmetrize : bool
        Star and acyclic problems: color ``A | A.T`` instead of raising on a
        non-symmetric pattern.
    effort : float, optional
        A deterministic budget of the improvement pass: its passes may count at most
        ``effort`` times the work counted by the orders tried, and at least
        :data:`IMPROVE_MIN_WORK` (star, acyclic and bicolor problems:
        :data:`SYMMETRIC_IMPROVE_MIN_WORK`). The result then depends on the pattern
        (and ``seed``) only, not on the machine or its load, and the cost of the whole
        coloring stays linear in the work of the orders. Column and row problems count
        adjacency entries visited (the degree computation and the greedy pass of each
        order). Star and acyclic problems
        count what their kernels visit (adjacency positions, and the per-vertex color
        lists one per 8 entries; see :mod:`coloring.symmetric._star` and
        :mod:`coloring.symmetric._acyclic`) plus the orders' scans; the random
        tie-breaking rounds may use half of the budget, the improvement search the
        rest. Bicolor problems count the same on the bipartite graph, plus the
        decompression plan of each coloring. Default :data:`DEFAULT_EFFORT` (for column
        and row problems only when no ``time_limit`` is given): no coloring depends on
        time unless ``time_limit`` is given.
    postprocess : bool, optional
        Bicolor problems only: drop the neutral colors (those decompression never reads;
        their rows or columns get color 0). Default True; False keeps every color of the
        coloring as a product.

    Returns
    -------
    ColoringResult or BicoloringResult

    Raises
    ------
    ColoringError
        Unknown problem or order, a non-square or non-symmetric pattern for a symmetric
        problem (unless ``symmetrize``), or an input that is not a 2-D matrix.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, coloring
    >>> A = sp.diags_array([1.0, 2.0, 1.0], offsets=[-1, 0, 1], shape=(6, 6), format="csr")
    >>> result = coloring.color(A, problem="column")
    >>> result.ncolors, result.colors
    (3, array([1, 2, 0, 1, 2, 0]))
    >>> B = result.compress(A)                   # A @ S: one column per color
    >>> B.shape
    (6, 3)
    >>> np.allclose(result.decompress(B).toarray(), A.toarray())
    True
    """
    if problem not in PROBLEMS:
        raise ColoringError(f"unknown problem {problem!r}; use one of {PROBLEMS}")
    orders = _normalize_orders(order)
    iterations = _improve_iterations(improve)
    if effort is not None:
        effort = _check_effort(effort)
    P = as_pattern(A)
    if problem in BICOLOR_PROBLEMS:
        return bicolor(P, problem, orders, seed=seed, improve=iterations,
                       time_limit=time_limit, postprocess=postprocess is not False,
                       effort=DEFAULT_EFFORT if effort is None else effort,
                       min_work=SYMMETRIC_IMPROVE_MIN_WORK)
    if postprocess:
        raise ColoringError(f"postprocess applies to the bicolor problems, not to "
                            f"problem={problem!r}")
    if problem in _SYMMETRIC:
        return _color_symmetric(P, problem, orders, seed, symmetrize, iterations, time_limit,
                                DEFAULT_EFFORT if effort is None else effort)

    graph = _bipartite_graph(P, problem)
    # lower bound: all columns of a row (rows of a column) need distinct colors
    lower = _max_count(graph.p2)  # rows' columns (column problem) or columns' rows (row)
    best, best_k, best_name, tried = None, None, "", {}
    order_work = 0
    for name in orders:
        order_work += (distance2_work(graph) if name not in ("natural", "random") else 0)
        perm = GRAPH_ORDERINGS[name](graph, seed)
        colors = greedy_color(graph, perm, min_colors=lower)
        k = int(colors.max()) + 1 if colors.size else 0
        order_work += pass_work(graph, k)
        tried[name] = k
        if best_k is None or k < best_k:
            best, best_k, best_name = colors, k, name
        if best_k <= lower:
            break
    if iterations and best_k > lower:
        work_limit = None
        if effort is None and time_limit is None:
            effort = DEFAULT_EFFORT
        if effort is not None:
            work_limit = _work_limit(effort, order_work, IMPROVE_MIN_WORK)
        improved = IMPROVEMENTS["iterated_greedy"](graph, best, iterations=iterations,
                                                   time_limit=time_limit, lower_bound=lower,
                                                   seed=seed, work_limit=work_limit)
        best_k_improved = int(improved.max()) + 1
        if best_k_improved < best_k:
            best, best_name = improved, best_name + "+iterated_greedy"
    return ColoringResult(P, best, problem, order=best_name, lower_bound=lower,
                          orders_tried=tried)


def _work_limit(effort: float, order_work: float, min_work: float) -> float:
    """What an improvement may count: ``effort`` times the orders' work, and at least
    ``min_work``."""
    return max(float(min_work), effort * order_work)


def _color_symmetric(P: sp.csr_array, problem: str, orders: tuple[str, ...], seed: Any,
                     symmetrize: bool, iterations: int = 0,
                     time_limit: float | None = None,
                     effort: float = DEFAULT_EFFORT) -> ColoringResult:
    m, n = P.shape
    if m != n:
        raise ColoringError(f"problem={problem!r} needs a square symmetric pattern, "
                            f"got shape {P.shape}; use problem='column' for Jacobians")
    # The edge numbering is the one symmetry check (P is canonical: sorted, no duplicates);
    # the graph is built once and shared by every order and the improvement pass.
    try:
        graph = SymmetricGraph(P.indptr, P.indices)
    except UnmirroredEntryError as exc:
        if not symmetrize:
            i, j = exc.entry
            raise ColoringError(
                f"problem={problem!r} needs a symmetric pattern, but entry ({i}, {j}) is "
                f"stored and ({j}, {i}) is not; pass symmetrize=True to color A | A.T, "
                f"or use problem='column'") from None
        P = as_pattern(P + P.T)
        graph = SymmetricGraph(P.indptr, P.indices)
    strategy = SYMMETRIC_PROBLEMS[problem]
    lower = clique_lower_bound(P.indptr, P.indices)
    best, best_k, best_name, best_perm, tried = None, None, "", None, {}
    order_work = 0
    for name in orders:
        perm = ORDERINGS[name](P.indptr, P.indices, seed)
        run = strategy.kernel(graph, perm)
        order_work += adjacency_order_work(name, graph.n, graph.nnz) + run.work
        k = _ncolors(strategy.colors_of(run.result))
        tried[name] = k
        if best_k is None or k < best_k:
            best, best_k, best_name, best_perm = run.result, k, name, perm
    # ``lower`` is a clique found greedily: usually far from the optimum, so the
    # improvement runs whenever more than 2 colors are used
    if iterations and best_k > max(2, lower):
        work_limit = _work_limit(effort, order_work, SYMMETRIC_IMPROVE_MIN_WORK)
        # first a few restarts of the orders with random tie-breaking (up to half the
        # budget), then the improvement search from the best coloring so far
        t0 = time.perf_counter()
        # orders far behind the best rarely win with other ties: restart the close ones
        close = tuple(name for name in orders if tried[name] <= best_k + 1)
        restart, spent = _tie_break_restarts(
            P, problem, close, graph, seed, rounds=max(1, iterations // 10),
            work_limit=work_limit / 2, below=best_k,
            time_limit=None if time_limit is None else time_limit / 2)
        if restart is not None:
            best, best_perm = restart
            best_k = _ncolors(strategy.colors_of(best))
            best_name += "+tie_breaks"
        left = (None if time_limit is None
                else max(time_limit - (time.perf_counter() - t0), 0.0))
        # the improvement search starts from the best coloring and keeps the best seen
        # (that coloring included), so it never adds colors
        improved, _ = iterated_greedy_symmetric(
            graph, best_perm, best, strategy.kernel, strategy.colors_of,
            iterations=iterations, time_limit=left, seed=seed,
            work_limit=work_limit - spent)
        if _ncolors(strategy.colors_of(improved)) < best_k:
            best, best_name = improved, best_name + "+iterated_greedy"
    plan = strategy.plan(graph, best)
    return ColoringResult(P, plan.colors, problem, order=best_name, plan=plan,
                          lower_bound=lower, orders_tried=tried)


def _ncolors(colors: np.ndarray) -> int:
    return int(colors.max()) + 1 if colors.size else 0


def _tie_break_restarts(P: sp.csr_array, problem: str, orders: tuple[str, ...],
                        graph: Any, seed: Any, *, rounds: int,
                        work_limit: float | None = None, below: int | None = None,
                        time_limit: float | None = None) -> tuple[Any, int]:
    """Best ``(kernel result, order)`` of the orders recomputed with random tie-breaking
    (None if none has fewer than ``below`` colors), and the work counted.

    The degree-based orders break ties by vertex number, and star/acyclic colorings are
    sensitive to it: on bcsstk15 smallest-last gives 24 to 27 acyclic colors over random
    relabelings (27 as numbered), where ColPack's tie-breaking gets 25. Each round
    relabels the vertices at random, computes every order on the relabeled pattern and
    maps it back, so only the ties are broken differently. Deterministic for a given
    ``seed``; stops after ``rounds`` rounds, before a step that would count more than
    ``work_limit`` (a relabeling :data:`RELABEL_WORK` per vertex and stored entry, an
    order :func:`adjacency_order_work`, a kernel pass what its kernel counts: a pass
    is stopped inside its kernel), or, only if given, after ``time_limit`` seconds.
    A pass stops as soon as it needs as many colors as the best so far (or ``below``).
    """
    strategy = SYMMETRIC_PROBLEMS[problem]
    rng = np.random.default_rng(seed)
    n = P.shape[0]
    limit = float("inf") if work_limit is None else float(work_limit)
    relabel = RELABEL_WORK * (n + P.nnz)
    start = time.perf_counter()
    best, best_k, work = None, below, 0
    for _ in range(rounds):
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
        if work + relabel > limit:
            break
        work += relabel
        perm = rng.permutation(n)
        inverse = np.empty(n, np.int64)
        inverse[perm] = np.arange(n)
        # relabeled pattern: vertex q of Q is vertex perm[q] of P
        Q = as_pattern(sp.csr_array((np.ones(P.nnz, bool), inverse[P.indices], P.indptr),
                                    shape=P.shape)[perm])
        for name in orders:
            cost = adjacency_order_work(name, n, P.nnz)
            if work + cost > limit:
                return best, work
            work += cost
            order = np.ascontiguousarray(perm[ORDERINGS[name](Q.indptr, Q.indices, seed)])
            # only a coloring with fewer colors than the best so far is kept
            run = strategy.kernel(graph, order, None if best_k is None else best_k - 1,
                                  limit - work)
            work += run.work
            if run.stopped == OVER_BUDGET:
                return best, work
            if run.result is not None:
                best, best_k = (run.result, order), _ncolors(strategy.colors_of(run.result))
    return best, work


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
    # a stable sort of small integers is a radix sort, linear in n (argpartition
    # degrades when so many degrees are equal)
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


@njit(cache=True)
def _first_conflict(indptr, indices, colors, ncolors):
    """``(node, u, w)``: two vertices ``u``, ``w`` of one color next to the same node
    (``indices[indptr[node]:indptr[node+1]]`` lists a node's vertices), or (-1, -1, -1).

    One pass over the structure with a stamp per color: ``O(nnz + ncolors)``.
    """
    stamp = np.full(ncolors, -1, np.int64)
    holder = np.zeros(ncolors, np.int64)
    for node in range(indptr.size - 1):
        for a in range(indptr[node], indptr[node + 1]):
            u = indices[a]
            c = colors[u]
            if stamp[c] == node:
                return node, holder[c], u
            stamp[c] = node
            holder[c] = u
    return -1, -1, -1


def check(A: Any, result: ColoringResult | BicoloringResult) -> None:
    """Verify that ``result`` is a valid coloring of the pattern of ``A``.

    Column problems: no two columns of one color share a row (structural
    orthogonality); row problems likewise for rows; star and acyclic problems: the star
    or acyclic property, checked by the symmetric coloring module; bicolor problems:
    every nonzero is recoverable from its JVP group or its VJP group, directly or by
    substitution (:func:`coloring._bicolor.check_bicoloring`).

    Raises
    ------
    ColoringError
        Naming an offending pair of columns (or rows) and their shared row (column), or a
        mismatch of shapes or color counts.

    Examples
    --------
    >>> import numpy as np, coloring
    >>> A = np.array([[1, 1, 0], [0, 1, 1]])
    >>> coloring.check(A, coloring.color(A))     # passes silently
    >>> bad = coloring.ColoringResult(coloring.color(A).pattern, np.zeros(3), "column")
    >>> coloring.check(A, bad)
    Traceback (most recent call last):
    ...
    coloring._errors.ColoringError: columns 0 and 1 both have color 0 and share row 0:
    not structurally orthogonal
    """
    if isinstance(result, BicoloringResult):
        check_bicoloring(A, result)
        return
    if not isinstance(result, ColoringResult):
        raise ColoringError(f"expected a ColoringResult, got {type(result).__name__}")
    # a canonical int64 CSR input is read as it is (checking needs no copy of it)
    canonical = (sp.issparse(A) and A.format == "csr" and A.indices.dtype == np.int64
                 and A.indptr.dtype == np.int64 and A.has_canonical_format)
    P = A if canonical else as_pattern(A)
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
        if result.pattern.shape == P.shape and not is_symmetric_pattern(P)[0]:
            P = as_pattern(P + P.T)
        check_symmetric(P.indptr, P.indices, colors, problem)
        return
    k = max(result.ncolors, 1)
    # column problem: columns (colored) sharing a row must differ; row problem: mirrored
    if problem == "column":
        indptr, indices, names = P.indptr, P.indices, ("columns", "row")
    else:
        (indptr, indices), names = transpose_pattern(P), ("rows", "column")
    find = (first_conflict if is_small(indices.size, _first_conflict)
            else _first_conflict)
    node, u, w = find(indptr, indices, np.ascontiguousarray(colors, np.int64), k)
    if node >= 0:
        raise ColoringError(
            f"{names[0]} {u} and {w} both have color {colors[u]} and share {names[1]} "
            f"{node}: not structurally orthogonal")


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
    n = COMPILE_MIN_SIZE // 3 + 2
    A = sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                       format="csr")
    # one call per order: a column or row coloring stops at the first order that reaches
    # the lower bound (every order does here), and would leave the others uncompiled
    for name in _normalize_orders(orders):
        result = color(A, problem, name, seed=0)
    if problem in ("column", "row"):
        # the improvement runs only above the lower bound: call it directly
        IMPROVEMENTS["iterated_greedy"](_bipartite_graph(result.pattern, problem),
                                        result.colors, iterations=2, time_limit=None,
                                        lower_bound=0, seed=0)
    if problem in BICOLOR_PROBLEMS:
        result.decompress(*result.compress(A))
    else:
        result.decompress(result.compress(A))
    return time.perf_counter() - start
