"""Greedy partial distance-2 coloring and Culberson's iterated-greedy improvement.

Both work on a :class:`~coloring._orderings.NeighborhoodGraph`, so the same kernels
color columns (distance-2 in the bipartite graph of ``A``), rows, or any graph given by
adjacency lists.
"""

from __future__ import annotations

import time

import numpy as np

from ._jit import njit
from ._orderings import NeighborhoodGraph, distance2_work
from ._small import class_order, greedy_bipartite, greedy_is_small, is_small

__all__ = ["greedy_color", "iterated_greedy_distance2", "iterated_greedy_work", "IMPROVEMENTS",
           "distance2_work", "pass_work"]


@njit(cache=True)
def _greedy(order, p1, i1, p2, i2, n):
    """Color vertices in ``order`` with the smallest color unused by their neighbors.

    ``forbidden[c] == v`` marks color ``c`` as taken by a neighbor of ``v``; since each
    vertex is visited once the array is never reset.
    """
    colors = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)
    for t in range(order.size):
        v = order[t]
        for a in range(p1[v], p1[v + 1]):
            r = i1[a]
            for b in range(p2[r], p2[r + 1]):
                c = colors[i2[b]]
                if c >= 0:
                    forbidden[c] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
    return colors


@njit(cache=True)
def _greedy_bitmask(order, p1, i1, nnodes, nwords):
    """The same coloring as :func:`_greedy` on a bipartite graph, in ``O(nnz)``.

    Each intermediate node (a row, for column coloring) keeps a bit mask of the colors of
    its vertices; the colors forbidden to ``v`` are the union of the masks of its rows.
    This replaces the scan over all distance-2 neighbors by two scans over ``v``'s own
    rows. Returns ``(colors, ok)``; ``ok`` is False if more than ``64 * nwords`` colors
    would be needed (the caller then falls back to :func:`_greedy`).
    """
    n = p1.size - 1
    colors = np.full(n, -1, np.int64)
    masks = np.zeros((nnodes, nwords), np.uint64)
    acc = np.zeros(nwords, np.uint64)
    one = np.uint64(1)
    for t in range(order.size):
        v = order[t]
        for w in range(nwords):
            acc[w] = 0
        for a in range(p1[v], p1[v + 1]):
            r = i1[a]
            for w in range(nwords):
                acc[w] |= masks[r, w]
        c = -1
        for w in range(nwords):
            free = ~acc[w]
            if free != 0:
                b = 0
                while (free & one) == 0:
                    free >>= one
                    b += 1
                c = w * 64 + b
                break
        if c < 0:
            return colors, False
        word = c // 64
        bit = one << np.uint64(c - word * 64)
        for a in range(p1[v], p1[v + 1]):
            masks[i1[a], word] |= bit
        colors[v] = c
    return colors, True


@njit(cache=True)
def _greedy_bitmask64(order, p1, i1, nnodes):
    """:func:`_greedy_bitmask` with one 64-bit word per node (at most 64 colors), the
    common case, as scalar operations: about twice as fast as the general loop."""
    n = p1.size - 1
    colors = np.full(n, -1, np.int64)
    masks = np.zeros(nnodes, np.uint64)
    one = np.uint64(1)
    full = ~np.uint64(0)
    for t in range(order.size):
        v = order[t]
        acc = np.uint64(0)
        for a in range(p1[v], p1[v + 1]):
            acc |= masks[i1[a]]
        if acc == full:
            return colors, False
        free = ~acc
        c = 0
        while (free & one) == 0:
            free >>= one
            c += 1
        bit = one << np.uint64(c)
        for a in range(p1[v], p1[v + 1]):
            masks[i1[a]] |= bit
        colors[v] = c
    return colors, True


#: Colors the bit-mask kernels hold: one 64-bit word per node, or this many words.
_BITMASK_WORDS = 4


def _greedy_graph(graph: NeighborhoodGraph, order: np.ndarray, min_colors: int = 0,
                  max_colors: int | None = None) -> np.ndarray:
    """Dispatch: bit masks on bipartite graphs with few colors, else the general kernel.

    ``min_colors``: colors every coloring needs (the longest row), so bit-mask kernels
    that cannot hold them are not tried. ``max_colors``: colors the pass is known not to
    exceed (a class order of a coloring with that many, Culberson's lemma); then the one
    kernel that holds them runs alone, and :func:`pass_work` is exactly what it visits.
    All kernels give the same coloring.
    """
    g = graph
    if g.is_bipartite:
        nnodes = g.p2.size - 1
        # the one-word kernel is the compiled path tried first below
        if greedy_is_small(g.i2.size, _greedy_bitmask64):
            return greedy_bipartite(order, g.p1, g.i1, nnodes)
        if max_colors is None:
            widths = [w for w in (1, _BITMASK_WORDS) if min_colors <= 64 * w]
        else:
            widths = [w for w in (1, _BITMASK_WORDS) if max_colors <= 64 * w][:1]
        for nwords in widths:  # a known bound fits: never falls through (kept for safety)
            if nwords == 1:
                colors, ok = _greedy_bitmask64(order, g.p1, g.i1, nnodes)
            else:
                colors, ok = _greedy_bitmask(order, g.p1, g.i1, nnodes, nwords)
            if ok:
                return colors
    return _greedy(order, g.p1, g.i1, g.p2, g.i2, g.n)


@njit(cache=True)
def _class_order(colors, ncolors, class_rank, reverse_within):
    """Vertices grouped by color class, classes in increasing ``class_rank``.

    Inside a class vertices keep increasing index order, or decreasing if
    ``reverse_within``. A counting sort, linear in ``n``.
    """
    n = colors.size
    count = np.zeros(ncolors + 1, np.int64)
    for v in range(n):
        count[class_rank[colors[v]] + 1] += 1
    for c in range(ncolors):
        count[c + 1] += count[c]
    order = np.empty(n, np.int64)
    for t in range(n):
        v = n - 1 - t if reverse_within else t
        k = class_rank[colors[v]]
        order[count[k]] = v
        count[k] += 1
    return order


def greedy_color(graph: NeighborhoodGraph, order: np.ndarray, *,
                 min_colors: int = 0) -> np.ndarray:
    """Greedy (partial distance-2) coloring of ``graph`` in the given vertex order.

    Gebremedhin, Manne and Pothen, "What color is your Jacobian? Graph coloring for
    computing derivatives", SIAM Review 47(4), 2005, Algorithm 3.1 (greedy partial
    distance-2 coloring, when ``graph`` is the bipartite distance-2 graph).

    Parameters
    ----------
    graph : NeighborhoodGraph
        The graph to color.
    order : numpy.ndarray
        A permutation of its vertices.
    min_colors : int
        A number of colors every coloring of ``graph`` needs (for column coloring: the
        longest row). It only selects the kernel; the coloring is the same.

    Returns
    -------
    numpy.ndarray of int64
        Colors ``0..ncolors-1``.
    """
    order = np.ascontiguousarray(order, dtype=np.int64)
    return _greedy_graph(graph, order, min_colors=min_colors)


def pass_work(graph: NeighborhoodGraph, ncolors: int) -> int:
    """Adjacency entries one greedy pass using ``ncolors`` colors visits: twice the first
    level with a bit-mask kernel (a bipartite graph and at most 256 colors), the full
    distance-2 scan (:func:`distance2_work`) otherwise; plus one per vertex."""
    g = graph
    if g.is_bipartite and ncolors <= 64 * _BITMASK_WORDS:
        return g.n + 2 * int(g.i1.size)
    return g.n + distance2_work(g)


def _class_ranks(strategy: str, colors: np.ndarray, ncolors: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Rank of each color class in the next greedy pass (lower rank = colored earlier)."""
    if strategy == "reverse":
        perm = np.arange(ncolors)[::-1]
    elif strategy == "largest_first":
        sizes = np.bincount(colors, minlength=ncolors)
        perm = np.argsort(-sizes, kind="stable")
    elif strategy == "smallest_first":
        sizes = np.bincount(colors, minlength=ncolors)
        perm = np.argsort(sizes, kind="stable")
    else:  # random
        perm = rng.permutation(ncolors)
    rank = np.empty(ncolors, np.int64)
    rank[perm] = np.arange(ncolors)
    return rank


# Culberson's mix of class orders: mostly reverse and largest-first, some random.
_CLASS_STRATEGY_CYCLE = ("reverse", "largest_first", "reverse", "random", "largest_first",
                         "reverse", "smallest_first", "random")


def iterated_greedy_distance2(graph: NeighborhoodGraph, colors: np.ndarray, *,
                    iterations: int = 100, time_limit: float | None = None,
                    lower_bound: int = 0, patience: int | None = 20,
                    seed=None, work_limit: float | None = None) -> np.ndarray:
    """Culberson's iterated greedy for partial distance-2 (column and row) colorings.

    Public as ``coloring.iterated_greedy``; star and acyclic colorings have their own
    improvement, :func:`coloring.symmetric._improve.iterated_greedy_symmetric`.

    J. C. Culberson, "Iterated greedy graph coloring and the difficulty landscape",
    Tech. Rep. TR 92-07, University of Alberta, 1992 (Section 2, Lemma 1): if every color
    class of a valid coloring is visited contiguously, the greedy algorithm uses at most
    as many colors again, for any order of the classes. Classes are visited in reverse,
    largest-first, smallest-first or random order in turn.

    Parameters
    ----------
    graph : NeighborhoodGraph
        The graph that ``colors`` is a valid coloring of.
    colors : numpy.ndarray
        A valid coloring (int, ``0..k-1``).
    iterations : int
        Maximum number of greedy passes.
    time_limit : float, optional
        Stop after this many seconds (checked between passes).
    lower_bound : int
        Stop as soon as this many colors are reached.
    patience : int, optional
        Stop after this many passes in a row without fewer colors (None: never).
    seed : optional
        Seed of the random class orders.
    work_limit : float, optional
        Adjacency entries the passes may visit in all (:func:`pass_work` of each pass,
        whose kernel depends on the colors it starts from): a pass that would exceed it
        is not started. Unlike ``time_limit`` it gives the same result on any machine
        and under any load.

    Returns
    -------
    numpy.ndarray of int64
        The best coloring found; never more colors than ``colors``.
    """
    return iterated_greedy_work(graph, colors, iterations=iterations, time_limit=time_limit,
                                lower_bound=lower_bound, patience=patience, seed=seed,
                                work_limit=work_limit)[0]


def iterated_greedy_work(graph: NeighborhoodGraph, colors: np.ndarray, *,
                         iterations: int = 100, time_limit: float | None = None,
                         lower_bound: int = 0, patience: int | None = 20,
                         seed=None, work_limit: float | None = None) -> tuple[np.ndarray, int]:
    """:func:`iterated_greedy_distance2` that also returns the adjacency entries its passes
    visited (the sum of their :func:`pass_work`), never more than ``work_limit``."""
    best = np.ascontiguousarray(colors, dtype=np.int64)
    if best.size == 0 or iterations <= 0:
        return best, 0
    best_k = int(best.max()) + 1
    rng = np.random.default_rng(seed)
    current, k = best, best_k
    start = time.perf_counter()
    g = graph
    since_best = 0
    work = 0
    for it in range(iterations):
        if best_k <= lower_bound:
            break
        if patience is not None and since_best >= patience:
            break
        # a class order of a k-coloring gets at most k colors (Culberson's lemma): the
        # pass runs the kernel for k colors, whose work is known before it starts
        cost = pass_work(g, k)
        if work_limit is not None and work + cost > work_limit:
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
        strategy = _CLASS_STRATEGY_CYCLE[it % len(_CLASS_STRATEGY_CYCLE)]
        rank = _class_ranks(strategy, current, k, rng)
        if is_small(g.i2.size, _class_order):
            order = class_order(current, rank, bool(it % 2))
        else:
            order = _class_order(current, k, rank, bool(it % 2))
        current = _greedy_graph(g, order, max_colors=k)
        work += cost
        k = int(current.max()) + 1
        since_best += 1
        if k < best_k:
            best, best_k, since_best = current, k, 0
    return best, work


def _improve_iterated_greedy(graph, colors, *, iterations, time_limit, lower_bound, seed,
                             work_limit=None):
    """Culberson's iterated greedy with the default patience (see
    :func:`iterated_greedy_distance2`)."""
    return iterated_greedy_distance2(graph, colors, iterations=iterations, time_limit=time_limit,
                           lower_bound=lower_bound, seed=seed, work_limit=work_limit)


IMPROVEMENTS = {
    "iterated_greedy": _improve_iterated_greedy,
}
