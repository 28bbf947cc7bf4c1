"""Symmetric coloring problems (Hessians): entry point, validity checks and a benchmark.

Problems, as a table of named strategies (:data:`SYMMETRIC_PROBLEMS`):

``"star"``
    Star coloring with hubs (Gebremedhin, Tarafdar, Manne, Pothen 2007, Alg. 4.1), see
    :mod:`coloring.symmetric._star`. Decompression is direct: one gather.
``"acyclic"``
    Acyclic coloring with two-colored trees in a union-find forest (same paper, Alg. 3.1),
    see :mod:`coloring.symmetric._acyclic`. Fewer colors; decompression by substitution.

Contract with :mod:`coloring._api`: :func:`color_symmetric` takes the full symmetric CSR
pattern (sorted indices, the diagonal optional) and a vertex order, and returns a plan
with ``colors``, ``ncolors``, ``problem`` and ``read_positions()``, from which
:class:`coloring.ColoringResult` decompresses (star: the hubs give the gather index of
:mod:`coloring._decompression`; acyclic: the plan's ``decompress_into(B, out_data)``
substitutes); :func:`check_symmetric` verifies a coloring.

Options: ``improve=`` runs an improvement search (iterated greedy over color classes and
order perturbations; never worse); ``postprocess=True``
drops neutral colors, the colors decompression never reads (SparseMatrixColorings.jl's
post-processing), by moving their vertices into read colors where that keeps every value
exact. A post-processed plan's colors are a seed assignment with ``0..ncolors-1``, not a
proper coloring, so it is off by default (``check_symmetric`` would reject it; use
:func:`check_direct_recovery` for star plans).

``python -m benchmarks.symmetric_coloring`` (from the repository root) prints colors and
median times on the issue's problems.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from coloring._decompression import vertex_color_slots
from coloring._errors import ColoringError
from coloring._jit import njit
from coloring.symmetric._acyclic import AcyclicPlan, _find, acyclic_coloring_pass
from coloring.symmetric._graph import (
    KernelRun,
    SymmetricGraph,
    UnmirroredEntryError,
    check_order,
)
from coloring.symmetric._improve import iterated_greedy_symmetric
from coloring.symmetric._postprocess import check_direct_recovery, drop_neutral_colors
from coloring.symmetric._star import StarPlan, star_coloring_pass

__all__ = ["color_symmetric", "check_symmetric", "check_direct_recovery",
           "drop_neutral_colors", "SYMMETRIC_PROBLEMS", "SymmetricPlan", "SymmetricGraph",
           "UnmirroredEntryError"]

SymmetricPlan = StarPlan | AcyclicPlan


def _star_plan(graph: SymmetricGraph, result) -> StarPlan:
    return StarPlan(graph, *result)


def _acyclic_plan(graph: SymmetricGraph, colors: np.ndarray) -> AcyclicPlan:
    return AcyclicPlan(graph, colors)


class SymmetricStrategy(NamedTuple):
    """A symmetric problem: its coloring kernel, the colors in its output, its plan.

    ``kernel(graph, order, max_colors=None, work_limit=None)`` is one greedy pass that
    counts its work and may stop early (:class:`coloring.symmetric._graph.KernelRun`).
    """

    kernel: Callable[..., KernelRun]
    colors_of: Callable[[Any], np.ndarray]
    plan: Callable[[SymmetricGraph, Any], Any]


SYMMETRIC_PROBLEMS: dict[str, SymmetricStrategy] = {
    "star": SymmetricStrategy(star_coloring_pass, lambda result: result[0], _star_plan),
    "acyclic": SymmetricStrategy(acyclic_coloring_pass, lambda colors: colors,
                                 _acyclic_plan),
}


def color_symmetric(indptr: np.ndarray, indices: np.ndarray, problem: str,
                    order: np.ndarray, *, postprocess: bool = False, improve: int = 0,
                    time_limit: float | None = None, seed: Any = None,
                    graph: SymmetricGraph | None = None,
                    work_limit: float | None = None) -> SymmetricPlan:
    """Color the adjacency graph of a symmetric pattern and plan its decompression.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        CSR structure of the full symmetric pattern (both triangles), sorted column
        indices; diagonal entries are allowed (they are not edges, and are decompressed
        from ``B[i, color[i]]``). Explicit zeros are structural entries.
    problem : {"star", "acyclic"}
        Star coloring (direct decompression) or acyclic coloring (substitution).
    order : numpy.ndarray
        Permutation of ``0..n-1``: the greedy coloring visits vertices in this order.
    postprocess : bool
        Drop the colors that decompression never reads (neutral colors, see
        :mod:`coloring.symmetric._postprocess`). The colors are then a seed assignment,
        no longer a proper coloring: ``check_symmetric`` rejects them, and
        ``plan.proper_colors`` keeps the coloring before.
    improve : int
        Passes of the improvement search (:mod:`coloring.symmetric._improve`: iterated
        greedy over color classes and order perturbations); never worse.
    time_limit : float, optional
        Seconds allowed to the improvement passes (an extra cap: the result then depends
        on the machine's speed and load).
    seed : int or numpy.random.Generator, optional
        Seed of the improvement pass's random moves.
    graph : SymmetricGraph, optional
        ``SymmetricGraph(indptr, indices)`` if the caller already built it (several
        orders of one pattern): skips numbering the edges and checking symmetry again.
    work_limit : float, optional
        What the improvement passes may count in all (see
        :func:`coloring.symmetric._improve.iterated_greedy_symmetric`): a deterministic
        budget. None: ``improve`` passes whatever they visit.

    Returns
    -------
    StarPlan or AcyclicPlan
        ``.colors`` (int64, ``0..ncolors-1``), ``.ncolors``, ``.problem`` and
        ``.read_positions()`` (the row and color of ``B = A @ S`` each value is read
        from); an acyclic plan also ``.decompress_into(B, out_data)``.

    Raises
    ------
    ColoringError
        Unknown problem, an order that is not a permutation, or a pattern that is not
        structurally symmetric / sorted.
    """
    try:
        strategy = SYMMETRIC_PROBLEMS[problem]
    except KeyError:
        raise ColoringError(f"unknown symmetric problem {problem!r}; "
                            f"choose one of {sorted(SYMMETRIC_PROBLEMS)}") from None
    if graph is None:
        graph = SymmetricGraph(indptr, indices)
    order = check_order(order, graph.n)
    result = strategy.kernel(graph, order).result
    if improve:
        result, _ = iterated_greedy_symmetric(graph, order, result, strategy.kernel,
                                              strategy.colors_of, iterations=int(improve),
                                              time_limit=time_limit, seed=seed,
                                              work_limit=work_limit)
    plan = strategy.plan(graph, result)
    if postprocess:
        drop_neutral_colors(plan)
    return plan


# ------------------------------------------------------------------------------- checks


@njit(cache=True)
def _neighbor_color_counts(indptr, indices, color):
    """``count[p]``: how many neighbors of row ``i`` have the color of column ``j``, for
    each stored off-diagonal entry ``p = (i, j)``; also the first improperly colored edge."""
    n = indptr.size - 1
    count = np.zeros(indices.size, np.int64)
    ncol = 0
    for i in range(n):
        if color[i] + 1 > ncol:
            ncol = color[i] + 1
    tally = np.zeros(ncol, np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                if color[j] == color[i]:
                    return count, i, j
                tally[color[j]] += 1
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                count[p] = tally[color[j]]
        for p in range(indptr[i], indptr[i + 1]):
            tally[color[indices[p]]] = 0
    return count, -1, -1


@njit(cache=True)
def _first_bicolored_p4(edge_u, edge_v, pos_u, pos_v, count):
    """Middle edge ``(b, c)`` of a two-colored path a-b-c-d, or (-1, -1).

    Such a path exists exactly when ``b`` has two neighbors of ``c``'s color and ``c`` two
    of ``b``'s (the coloring being proper, the four vertices are then distinct).
    """
    for e in range(edge_u.size):
        if count[pos_u[e]] >= 2 and count[pos_v[e]] >= 2:
            return edge_u[e], edge_v[e]
    return -1, -1


@njit(cache=True)
def _first_bicolored_cycle_edge(indptr, indices, edge_u, edge_v, pos_u, pos_v, color):
    """An edge closing a two-colored cycle, or (-1, -1).

    Union-find over the pairs (vertex, neighbor color): edge ``(u, v)`` joins ``(u,
    color[v])`` and ``(v, color[u])``; a join inside one set closes a two-colored cycle.
    """
    slot_of_pos, nslots = vertex_color_slots(indptr, indices, color)
    parent = np.arange(nslots)
    for e in range(edge_u.size):
        a = _find(parent, slot_of_pos[pos_u[e]])
        b = _find(parent, slot_of_pos[pos_v[e]])
        if a == b:
            return edge_u[e], edge_v[e]
        parent[a] = b
    return -1, -1


def _other_neighbor(indptr, indices, colors, b, c):
    """A neighbor of ``b`` other than ``c`` with the color of ``c`` (for messages)."""
    for x in indices[indptr[b]:indptr[b + 1]]:
        if x != b and x != c and colors[x] == colors[c]:
            return int(x)
    return -1


def check_symmetric(indptr: np.ndarray, indices: np.ndarray, colors: np.ndarray,
                    problem: str) -> None:
    """Verify a star or acyclic coloring of a symmetric pattern.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        CSR structure of the full symmetric pattern (sorted; diagonal allowed).
    colors : numpy.ndarray
        One non-negative integer color per vertex.
    problem : {"star", "acyclic"}
        ``"star"``: distance-1 proper and every path on four vertices uses at least three
        colors. ``"acyclic"``: distance-1 proper and no cycle uses only two colors.

    Raises
    ------
    ColoringError
        Naming an offending pair of columns and the violated property.
    """
    if problem not in SYMMETRIC_PROBLEMS:
        raise ColoringError(f"unknown symmetric problem {problem!r}; "
                            f"choose one of {sorted(SYMMETRIC_PROBLEMS)}")
    graph = SymmetricGraph(indptr, indices)
    colors = np.ascontiguousarray(colors, dtype=np.int64)
    if colors.shape != (graph.n,):
        raise ColoringError(f"colors must have shape ({graph.n},), got {colors.shape}")
    if graph.n and colors.min() < 0:
        raise ColoringError("colors must be non-negative")
    count, i, j = _neighbor_color_counts(graph.indptr, graph.indices, colors)
    if i >= 0:
        raise ColoringError(
            f"columns {i} and {j} are adjacent (entry ({i}, {j}) is stored) but share "
            f"color {colors[i]}: not a distance-1 coloring")
    if problem == "star":
        b, c = _first_bicolored_p4(graph.edge_u, graph.edge_v, graph.pos_u, graph.pos_v,
                                   count)
        if b >= 0:
            a = _other_neighbor(graph.indptr, graph.indices, colors, b, c)
            d = _other_neighbor(graph.indptr, graph.indices, colors, c, b)
            raise ColoringError(
                f"columns {b} and {c} (colors {colors[b]}, {colors[c]}) are the middle of "
                f"the two-colored path {a}-{b}-{c}-{d}: not a star coloring, so "
                f"A[{b}, {c}] cannot be read directly")
    else:
        u, v = _first_bicolored_cycle_edge(graph.indptr, graph.indices, graph.edge_u,
                                           graph.edge_v, graph.pos_u, graph.pos_v, colors)
        if u >= 0:
            raise ColoringError(
                f"columns {u} and {v} (colors {colors[u]}, {colors[v]}) close a cycle that "
                f"uses only these two colors: not an acyclic coloring")
