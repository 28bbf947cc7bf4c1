"""Star coloring of symmetric patterns with hubs, for direct (gather) decompression.

Star coloring is Algorithm 4.1 of Gebremedhin, Tarafdar, Manne and Pothen, "New acyclic
and star coloring algorithms with application to computing Hessians", SIAM J. Sci.
Comput. 29(3), 2007. A star coloring is a distance-1 coloring in which every path on four
vertices uses at least three colors; equivalently every two-colored connected subgraph is
a star. While coloring, the algorithm records which star each edge belongs to and the hub
(center) of that star. In ``B = A @ S`` the entry ``A[leaf, hub]`` is then alone in
``B[leaf, color[hub]]``, so decompression is one gather through a precomputed index.

Avoiding quadratic work: the paper scans the neighbors of every colored neighbor ``w`` of
the vertex being colored, which costs ``deg(w)`` each time and makes an arrowhead (one
dense row and column) quadratic. Here each vertex keeps a short list with one entry per
color among its colored neighbors, pointing at the star that holds the edges from the
vertex to that color (all such edges lie in one star, by the star property). The two scans
of the paper (the "Case 2" test and the star update) walk that list instead, whose length
is bounded by the number of colors, not by the degree.
"""

from __future__ import annotations

import numpy as np

from coloring._decompression import star_read_positions, star_reads_here
from coloring._jit import njit
from coloring.symmetric._graph import (
    COMPLETE,
    OVER_BUDGET,
    TOO_MANY_COLORS,
    KernelRun,
    SymmetricGraph,
    as_limit,
    list_walk_count,
    smallest_free_color,
)

TRIVIAL = -1  # hub value of a star that is a single edge: either end can serve as hub


@njit(cache=True)
def _find_entry(indptr, nent, ent_color, ent_star, w, c):
    """Star holding the edges from ``w`` to its neighbors of color ``c``, or -1."""
    for t in range(indptr[w], indptr[w] + nent[w]):
        if ent_color[t] == c:
            return ent_star[t]
    return -1


@njit(cache=True)
def _star_coloring_kernel(indptr, indices, edge_of_pos, nedges, order, max_colors,
                          work_limit):
    """Greedy star coloring (GTMP 2007, Alg. 4.1) in the given vertex order.

    Returns ``(color, star_of_edge, hub, work, stopped)``: colors start at 0,
    ``star_of_edge[e]`` is the star of edge ``e`` and ``hub[s]`` the hub vertex of star
    ``s`` (``TRIVIAL`` for a star that is a single edge). ``work`` counts what the pass
    visits: per vertex one plus its two scans of its adjacency, and every per-vertex
    list it walks (the Case 1 and Case 2 tests, the star lookup), one per
    ``LIST_ENTRIES_PER_COUNT`` entries (:func:`list_walk_count`). The pass stops
    (``stopped`` is ``TOO_MANY_COLORS`` or ``OVER_BUDGET``, the other outputs are then
    partial) before a vertex takes a color ``>= max_colors`` or before a step that
    would take ``work`` past ``work_limit``.
    """
    n = indptr.size - 1
    color = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)  # forbidden[c] == v: v may not take c
    treated = np.full(n, -1, np.int64)
    # first colored neighbor of each color met while coloring v (vertex, position)
    first_v = np.full(n + 1, -1, np.int64)
    first_w = np.full(n + 1, -1, np.int64)
    first_p = np.full(n + 1, -1, np.int64)
    star_of_edge = np.full(nedges, -1, np.int64)
    hub = np.full(max(nedges, 1), TRIVIAL, np.int64)
    nstars = 0
    # per-vertex list: one entry (neighbor color, star) per color among colored neighbors,
    # stored contiguously in the vertex's own CSR range (at most deg(w) distinct colors)
    nent = np.zeros(n, np.int64)
    ent_color = np.empty(indices.size, np.int64)
    ent_star = np.empty(indices.size, np.int64)
    work = 0

    for v in order:
        cost = 1 + 2 * (indptr[v + 1] - indptr[v])
        if work + cost > work_limit:
            return color, star_of_edge, hub[:0].copy(), work, OVER_BUDGET
        work += cost
        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w == v or color[w] < 0:
                continue
            d = color[w]
            forbidden[d] = v
            if first_v[d] == v:
                # Case 1: v has two neighbors q, w of color d, so v becomes the hub of
                # their star and may share no color with any neighbor of q or w.
                # The colors of the colored neighbors of q (of w) are exactly the colors
                # in q's (w's) per-vertex list, which is bounded by the number of colors
                # where the adjacency is not: a dense row would make this quadratic.
                q = first_w[d]
                cost = list_walk_count(nent[w])
                if treated[q] != v:
                    cost += list_walk_count(nent[q])
                if work + cost > work_limit:
                    return color, star_of_edge, hub[:0].copy(), work, OVER_BUDGET
                work += cost
                if treated[q] != v:
                    for t in range(indptr[q], indptr[q] + nent[q]):
                        forbidden[ent_color[t]] = v
                    treated[q] = v
                for t in range(indptr[w], indptr[w] + nent[w]):
                    forbidden[ent_color[t]] = v
                treated[w] = v
            else:
                first_v[d] = v
                first_w[d] = w
                first_p[d] = p
                # Case 2: if w is a leaf of a star whose hub x has color c, then v with
                # color c would make the two-colored path v-w-x-(other leaf).
                cost = list_walk_count(nent[w])
                if work + cost > work_limit:
                    return color, star_of_edge, hub[:0].copy(), work, OVER_BUDGET
                work += cost
                for t in range(indptr[w], indptr[w] + nent[w]):
                    h = hub[ent_star[t]]
                    if h >= 0 and h != w:
                        forbidden[ent_color[t]] = v
        c = smallest_free_color(forbidden, v)
        if c >= max_colors:
            return color, star_of_edge, hub[:0].copy(), work, TOO_MANY_COLORS
        color[v] = c

        # Place every new edge vw into a star.
        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w == v or color[w] < 0:
                continue
            d = color[w]
            e = edge_of_pos[p]
            # the lookup walks at most w's list
            cost = list_walk_count(nent[w])
            if work + cost > work_limit:
                return color, star_of_edge, hub[:0].copy(), work, OVER_BUDGET
            work += cost
            s = _find_entry(indptr, nent, ent_color, ent_star, w, c)
            if s >= 0:
                # w already has a neighbor of color c: w is (or now becomes) the hub
                hub[s] = w
                star_of_edge[e] = s
                t = indptr[v] + nent[v]
                ent_color[t] = d
                ent_star[t] = s
                nent[v] += 1
            elif first_v[d] == v and first_w[d] != w:
                # v has several neighbors of color d: v is the hub of their star
                s = star_of_edge[edge_of_pos[first_p[d]]]
                hub[s] = v
                star_of_edge[e] = s
                t = indptr[w] + nent[w]
                ent_color[t] = c
                ent_star[t] = s
                nent[w] += 1
            else:
                s = nstars
                nstars += 1
                hub[s] = TRIVIAL
                star_of_edge[e] = s
                t = indptr[v] + nent[v]
                ent_color[t] = d
                ent_star[t] = s
                nent[v] += 1
                t = indptr[w] + nent[w]
                ent_color[t] = c
                ent_star[t] = s
                nent[w] += 1
    return color, star_of_edge, hub[:nstars].copy(), work, COMPLETE


@njit(cache=True)
def _orient_trivial_stars(indptr, indices, edge_of_pos, color, star_of_edge, hub, ncolors):
    """Choose a hub for every single-edge star, preferring colors already needed.

    A color is needed by decompression if it is the color of a hub or of a vertex with a
    stored diagonal entry (``A[i, i]`` is read from ``B[i, color[i]]``). Picking, for a
    single-edge star, the end whose color is needed anyway keeps the set of needed colors
    small (as in SparseMatrixColorings.jl's post-processing). Returns the needed colors.
    """
    n = indptr.size - 1
    used = np.zeros(ncolors, np.bool_)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] == i:
                used[color[i]] = True
    for s in range(hub.size):
        if hub[s] >= 0:
            used[color[hub[s]]] = True
    for u in range(n):
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if v <= u:
                continue
            s = star_of_edge[edge_of_pos[p]]
            if hub[s] != TRIVIAL:
                continue
            if used[color[u]]:
                hub[s] = u
            elif used[color[v]]:
                hub[s] = v
            else:
                hub[s] = u
                used[color[u]] = True
    return used


def star_coloring(graph: SymmetricGraph, order: np.ndarray):
    """Run the star coloring kernel on ``graph`` in vertex order ``order``.

    Returns
    -------
    tuple
        ``(colors, star_of_edge, hub)`` as described in :func:`_star_coloring_kernel`.
    """
    return star_coloring_pass(graph, order).result


def star_coloring_pass(graph: SymmetricGraph, order: np.ndarray,
                       max_colors: float | None = None,
                       work_limit: float | None = None) -> KernelRun:
    """:func:`star_coloring` under limits (None: none), with the work it counted
    (:class:`KernelRun`; ``result`` is ``(colors, star_of_edge, hub)`` when the pass
    completes)."""
    color, star_of_edge, hub, work, stopped = _star_coloring_kernel(
        graph.indptr, graph.indices, graph.edge_of_pos, graph.nedges, order,
        as_limit(max_colors), as_limit(work_limit))
    result = (color, star_of_edge, hub) if stopped == COMPLETE else None
    return KernelRun(result, int(work), int(stopped))


class StarPlan:
    """A star coloring of a symmetric pattern with its direct decompression plan.

    Attributes
    ----------
    colors : numpy.ndarray
        ``(n,)`` int64 colors ``0..ncolors-1``.
    ncolors : int
        Number of colors (columns of the seed matrix).
    problem : str
        ``"star"``.
    hub : numpy.ndarray
        Hub vertex of each two-colored star (every star, trivial ones included, has one
        after orientation).
    star_of_edge : numpy.ndarray
        Star of each edge of :class:`SymmetricGraph`.
    needed_colors : numpy.ndarray
        ``(ncolors,)`` bool: colors read by decompression (hub colors and the colors of
        vertices with a stored diagonal entry). The others are dropped by
        :func:`coloring.symmetric._postprocess.drop_neutral_colors`.
    """

    problem = "star"

    def __init__(self, graph: SymmetricGraph, colors, star_of_edge, hub) -> None:
        self.graph = graph
        self.colors = colors
        self.ncolors = int(colors.max()) + 1 if colors.size else 0
        self.star_of_edge = star_of_edge
        self.hub = hub
        self.needed_colors = _orient_trivial_stars(
            graph.indptr, graph.indices, graph.edge_of_pos, colors, star_of_edge, hub,
            self.ncolors)

    postprocessed = False

    def read_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and color of ``B = A @ S`` read for each stored entry (``(nnz,)`` each),
        by the rule of :mod:`coloring._decompression`."""
        g = self.graph
        here = star_reads_here(g.indptr, g.indices, g.edge_of_pos, self.star_of_edge,
                               self.hub)
        return star_read_positions(g.indptr, g.indices, here, self.colors)

    def recolor(self, colors: np.ndarray, ncolors: int, colmap: np.ndarray) -> None:
        """Adopt a reduced seed assignment (used by
        :func:`coloring.symmetric._postprocess.drop_neutral_colors`). The hubs and the
        vertices with a diagonal entry keep their (renumbered) colors, so the reads
        follow from the new colors."""
        self.colors = colors
        self.ncolors = int(ncolors)
        self.needed_colors = np.ones(self.ncolors, dtype=bool)
