"""Improvement pass for star and acyclic colorings: re-run greedy on modified orders.

Two kinds of moves, taken in turn from :data:`MOVES`, each applied to the best order so far:

- Culberson's iterated greedy ("Iterated greedy graph coloring and the difficulty
  landscape", TR 92-07, University of Alberta, 1992): visit the vertices grouped by color
  class (reverse class order, largest class first, random class order). For distance-1
  coloring this can never add colors; for star and acyclic coloring it can.
- A perturbation: swap 2% of randomly chosen adjacent pairs of the order (a randomized
  tie-break of the ordering heuristic). On random graphs this is what finds the colorings
  that class reordering misses.

Every pass is only a candidate and the best coloring seen is kept (the input included), so
the result is never worse than the input.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from coloring.symmetric._graph import OVER_BUDGET, KernelRun, SymmetricGraph


def _by_class(class_order: Callable[[np.ndarray, np.random.Generator], np.ndarray]):
    def move(order: np.ndarray, colors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = int(colors.max()) + 1
        rank = np.empty(k, np.int64)
        rank[class_order(np.bincount(colors, minlength=k), rng)] = np.arange(k)
        # group by class, keeping the previous visiting order inside each class
        return order[np.argsort(rank[colors[order]], kind="stable")]

    move.__doc__ = f"Vertices grouped by color class, classes in {class_order.__name__} order."
    return move


def _reverse(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.arange(sizes.size)[::-1]


def _largest_first(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argsort(-sizes, kind="stable")


def _random(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(sizes.size)


def _perturb(order: np.ndarray, colors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swap about 2% of randomly chosen adjacent pairs of the order."""
    new = order.copy()
    if new.size < 2:
        return new
    idx = rng.integers(0, new.size - 1, max(1, new.size // 50))
    for i in idx:  # sequential, so overlapping swaps stay a permutation
        new[i], new[i + 1] = new[i + 1], new[i]
    return new


MOVES: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]] = {
    "perturb": _perturb,
    "reverse_classes": _by_class(_reverse),
    "perturb_again": _perturb,
    "largest_class_first": _by_class(_largest_first),
    "perturb_once_more": _perturb,
    "random_classes": _by_class(_random),
}


def iterated_greedy_symmetric(graph: SymmetricGraph, order: np.ndarray, first: Any,
                              kernel: Callable[..., KernelRun],
                              colors_of: Callable[[Any], np.ndarray], *, iterations: int,
                              time_limit: float | None = None, seed: Any = None,
                              work_limit: float | None = None) -> tuple[Any, int]:
    """Improve a star or acyclic coloring: re-run ``kernel`` on orders from :data:`MOVES`
    and return the result with fewest colors (column and row colorings have
    :func:`coloring._greedy.iterated_greedy_distance2`).

    Parameters
    ----------
    graph : SymmetricGraph
        The pattern.
    order : numpy.ndarray
        Vertex order that produced ``first``.
    first : object
        Output of the kernel for ``order``.
    kernel : callable
        ``kernel(graph, order, max_colors, work_limit) -> KernelRun``: the star or acyclic
        kernel pass (:func:`coloring.symmetric._star.star_coloring_pass`,
        :func:`coloring.symmetric._acyclic.acyclic_coloring_pass`).
    colors_of : callable
        ``colors_of(result) -> colors``.
    iterations : int
        Number of passes.
    time_limit : float, optional
        Seconds; checked between passes. Only as an extra cap: the result then depends
        on the machine and its load.
    seed : int or numpy.random.Generator, optional
        Seed of the random moves.
    work_limit : float, optional
        What the passes may count in all: a move counts one per vertex, a kernel pass
        what its kernel counts (positions and list entries visited). A pass stops inside
        its kernel before it would exceed the limit (and is discarded), so the count
        never passes ``work_limit`` and the result is the same on any machine.

    Returns
    -------
    tuple
        The best kernel result (``first`` if no pass improved on it) and the work counted.
    """
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    best, best_order = first, order
    best_colors = colors_of(first)
    best_k = int(best_colors.max()) + 1 if best_colors.size else 0
    moves = list(MOVES.values())
    limit = float("inf") if work_limit is None else float(work_limit)
    work = 0
    for it in range(iterations):
        if best_k <= 1 or (time_limit is not None and time.perf_counter() - start > time_limit):
            break
        if work + graph.n > limit:  # a move visits every vertex
            break
        work += graph.n
        new_order = moves[it % len(moves)](best_order, best_colors, rng)
        # a pass needing more colors than the best cannot be kept: the kernel stops there
        run = kernel(graph, new_order, best_k, limit - work)
        work += run.work
        if run.stopped == OVER_BUDGET:
            break
        if run.result is None:
            continue
        colors = colors_of(run.result)
        k = int(colors.max()) + 1
        if k <= best_k:  # ties are accepted, so the search keeps moving
            best, best_order, best_colors, best_k = run.result, new_order, colors, k
    return best, work
