"""Acyclic coloring of symmetric patterns and decompression by substitution.

Acyclic coloring is Algorithm 3.1 of Gebremedhin, Tarafdar, Manne and Pothen, "New acyclic
and star coloring algorithms with application to computing Hessians", SIAM J. Sci.
Comput. 29(3), 2007. An acyclic coloring is a distance-1 coloring in which every
two-colored subgraph is a forest. The algorithm keeps the two-colored trees in a
union-find forest over edges: before giving a vertex ``v`` a color ``c``, a tree that ``v``
would touch through two different neighbors would close a two-colored cycle, so ``c`` is
forbidden; after coloring, the new edges are merged into the trees they join.

Avoiding quadratic work: the paper walks all neighbors of every colored neighbor ``w`` of
``v`` (``deg(w)`` each time: quadratic on an arrowhead, whose center neighbors every
vertex). All edges from
``w`` to the neighbors of one color lie in one two-colored tree, so each vertex keeps a
short list with one representative edge per neighbor color and the walks use that list,
whose length is bounded by the number of colors.

Decompression: in ``B = A @ S``, ``B[i, c]`` is the sum of ``A[i, j]`` over the neighbors
``j`` of color ``c``, i.e. over the edges of ``i`` inside one two-colored tree. Peeling the
trees from their leaves inward, every edge is read at a leaf and subtracted at its parent;
the peeling order is computed once, so evaluation is one tight loop.
"""

from __future__ import annotations

import numpy as np

from coloring._decompression import (
    SubstitutionOrder,
    peeling_order,
    substitute,
    vertex_color_slots,
)
from coloring._errors import ColoringError
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


@njit(cache=True)
def _find(parent, e):
    """Root of ``e`` in the union-find forest, halving the path on the way."""
    while parent[e] != e:
        parent[e] = parent[parent[e]]
        e = parent[e]
    return e


@njit(cache=True)
def _union(parent, rank, a, b):
    """Merge the trees holding edges ``a`` and ``b`` (union by rank)."""
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra == rb:
        return
    if rank[ra] < rank[rb]:
        ra, rb = rb, ra
    parent[rb] = ra
    if rank[ra] == rank[rb]:
        rank[ra] += 1


@njit(cache=True)
def _acyclic_coloring_kernel(indptr, indices, edge_of_pos, nedges, order, max_colors,
                             work_limit):
    """Greedy acyclic coloring (GTMP 2007, Alg. 3.1) in the given vertex order.

    Returns ``(color, work, stopped)``: the colors (from 0). Two-colored trees are sets
    of edges in a union-find forest; ``visit_v/visit_w[root]`` record from which vertex
    and neighbor a tree was first reached while coloring the current vertex. ``work``
    counts what the pass visits: per vertex one plus its three scans of its adjacency,
    and every per-vertex list it walks (the cycle test, with its union-find lookups,
    and the search for the tree to merge with), one per ``LIST_ENTRIES_PER_COUNT``
    entries (:func:`list_walk_count`). The pass stops (``stopped`` is
    ``TOO_MANY_COLORS`` or ``OVER_BUDGET``, the colors are then partial) before a
    vertex takes a color ``>= max_colors`` or before a step that would take ``work``
    past ``work_limit``.
    """
    n = indptr.size - 1
    color = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)
    first_v = np.full(n + 1, -1, np.int64)  # first neighbor of each color seen from v
    first_e = np.full(n + 1, -1, np.int64)
    mark = np.full(n + 1, -1, np.int64)  # mark[d] == v: v already lists color d
    parent = np.arange(nedges)
    rank = np.zeros(nedges, np.int64)
    visit_v = np.full(nedges, -1, np.int64)
    visit_w = np.full(nedges, -1, np.int64)
    # per-vertex list: one entry (neighbor color, representative edge) per color, stored
    # contiguously in the vertex's own CSR range (at most deg(w) distinct colors)
    nent = np.zeros(n, np.int64)
    ent_color = np.empty(indices.size, np.int64)
    ent_edge = np.empty(indices.size, np.int64)
    work = 0

    for v in order:
        cost = 1 + 3 * (indptr[v + 1] - indptr[v])
        if work + cost > work_limit:
            return color, work, OVER_BUDGET
        work += cost
        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w != v and color[w] >= 0:
                forbidden[color[w]] = v
        # A tree reached from v through two different neighbors would close a cycle.
        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w == v or color[w] < 0:
                continue
            cost = list_walk_count(nent[w])
            if work + cost > work_limit:
                return color, work, OVER_BUDGET
            work += cost
            for t in range(indptr[w], indptr[w] + nent[w]):
                cx = ent_color[t]
                if forbidden[cx] != v:
                    r = _find(parent, ent_edge[t])
                    if visit_v[r] != v:
                        visit_v[r] = v
                        visit_w[r] = w
                    elif visit_w[r] != w:
                        forbidden[cx] = v
        c = smallest_free_color(forbidden, v)
        if c >= max_colors:
            return color, work, TOO_MANY_COLORS
        color[v] = c

        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w == v or color[w] < 0:
                continue
            d = color[w]
            e = edge_of_pos[p]
            # the search for w's tree of color c below walks at most w's list
            cost = list_walk_count(nent[w])
            if work + cost > work_limit:
                return color, work, OVER_BUDGET
            work += cost
            # grow the two-colored star around v: edges to neighbors of one color
            if first_v[d] != v:
                first_v[d] = v
                first_e[d] = e
            else:
                _union(parent, rank, e, first_e[d])
            if mark[d] != v:
                mark[d] = v
                t = indptr[v] + nent[v]
                ent_color[t] = d
                ent_edge[t] = e
                nent[v] += 1
            # merge with the tree holding w's edges to color c, if any
            found = -1
            for t in range(indptr[w], indptr[w] + nent[w]):
                if ent_color[t] == c:
                    found = ent_edge[t]
                    break
            if found >= 0:
                _union(parent, rank, e, found)
            else:
                t = indptr[w] + nent[w]
                ent_color[t] = c
                ent_edge[t] = e
                nent[w] += 1
    return color, work, COMPLETE


def acyclic_coloring(graph: SymmetricGraph, order: np.ndarray) -> np.ndarray:
    """Run the acyclic coloring kernel on ``graph`` in vertex order ``order``."""
    return acyclic_coloring_pass(graph, order).result


def acyclic_coloring_pass(graph: SymmetricGraph, order: np.ndarray,
                          max_colors: float | None = None,
                          work_limit: float | None = None) -> KernelRun:
    """:func:`acyclic_coloring` under limits (None: none), with the work it counted
    (:class:`KernelRun`; ``result`` is the colors when the pass completes)."""
    color, work, stopped = _acyclic_coloring_kernel(
        graph.indptr, graph.indices, graph.edge_of_pos, graph.nedges, order,
        as_limit(max_colors), as_limit(work_limit))
    return KernelRun(color if stopped == COMPLETE else None, int(work), int(stopped))


class AcyclicPlan:
    """An acyclic coloring of a symmetric pattern with its substitution plan.

    Attributes
    ----------
    colors : numpy.ndarray
        ``(n,)`` int64 colors ``0..ncolors-1``.
    ncolors : int
        Number of colors (columns of the seed matrix).
    problem : str
        ``"acyclic"``.

    The substitution order is built on first use (decompression or post-processing), so
    coloring alone does not pay for it; ``validate=True`` builds it at once.

    Raises
    ------
    ColoringError
        If ``colors`` has a two-colored cycle (decompression by substitution would be
        impossible): at construction with ``validate=True``, else on first use.
    """

    problem = "acyclic"

    def __init__(self, graph: SymmetricGraph, colors: np.ndarray, *,
                 validate: bool = False) -> None:
        self.graph = graph
        self.colors = colors
        self.ncolors = int(colors.max()) + 1 if colors.size else 0
        self._built = False
        if validate:
            self._build()

    postprocessed = False

    def _build(self) -> None:
        """Peel the two-colored trees once (on first use unless validated eagerly)."""
        if self._built:
            return
        graph, colors = self.graph, self.colors
        slot_of_pos, nslots = vertex_color_slots(graph.indptr, graph.indices, colors)
        (self._read_row, self._read_col, self._acc_src, self._acc_dst, self._out_a,
         self._out_b, ndone, self._diag_pos, self._diag_row) = peeling_order(
            graph.indptr, graph.indices, graph.edge_u, graph.edge_v, graph.pos_u,
            graph.pos_v, colors, slot_of_pos, nslots)
        if ndone != graph.nedges:
            raise ColoringError(
                "the coloring has a two-colored cycle, so it is not acyclic and "
                "substitution cannot recover the Hessian; recolor with problem='acyclic'")
        self._diag_col = colors[self._diag_row]
        self._acc = np.zeros(nslots)
        self._built = True

    def substitution_order(self) -> SubstitutionOrder:
        """The solve order (see :class:`coloring._decompression.SubstitutionOrder`)."""
        self._build()
        return SubstitutionOrder((self._read_row, self._read_col, self._acc_src,
                                  self._acc_dst, self._out_a, self._out_b, self._diag_pos,
                                  self._diag_row, self._diag_col, int(self._acc.size)))

    def read_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and colors of ``B`` that substitution reads (steps, then diagonal)."""
        self._build()
        return (np.concatenate([self._read_row, self._diag_row]),
                np.concatenate([self._read_col, self._diag_col]))

    def recolor(self, colors: np.ndarray, ncolors: int, colmap: np.ndarray) -> None:
        """Adopt a reduced seed assignment; ``colmap[old color]`` is each read color's new
        index (used by :func:`coloring.symmetric._postprocess.drop_neutral_colors`)."""
        self._build()
        self.colors = colors
        self.ncolors = int(ncolors)
        self._read_col = colmap[self._read_col]
        self._diag_col = colmap[self._diag_col]

    def decompress_into(self, B: np.ndarray, out_data: np.ndarray) -> np.ndarray:
        """Fill ``out_data`` (aligned with the pattern's stored entries) from ``B = A @ S``.

        Parameters
        ----------
        B : numpy.ndarray
            ``(n, ncolors)`` compressed matrix in any layout (C-contiguous, or the
            F-contiguous transpose of a batch-first product); never copied.
        out_data : numpy.ndarray
            ``(nnz,)`` output, overwritten. Substitution subtracts, so entries agree with
            ``A`` up to floating-point rounding (exactly for integer-valued data).

        Returns
        -------
        numpy.ndarray
            ``out_data``.
        """
        _check_b(B, self.graph.n, self.ncolors, out_data, self.graph.nnz)
        self._build()
        acc = self._acc
        if acc.dtype != np.result_type(B.dtype, np.float64):  # complex B: kept for next time
            acc = self._acc = np.zeros(acc.size, np.result_type(B.dtype, np.float64))
        substitute(B, self._read_row, self._read_col, self._acc_src, self._acc_dst,
                    self._out_a, self._out_b, self._diag_pos, self._diag_row,
                    self._diag_col, acc, out_data)
        return out_data


def _check_b(B, n, ncolors, out_data, nnz) -> None:
    """Raise a clear error for a compressed matrix or output of the wrong shape."""
    if not isinstance(B, np.ndarray) or B.shape != (n, ncolors):
        shape = getattr(B, "shape", None)
        raise ColoringError(
            f"B must be a numpy array of shape (n, ncolors) = ({n}, {ncolors}), got {shape}; "
            f"pass A @ S (or the transpose of the batch-first product S.T @ A)")
    if not isinstance(out_data, np.ndarray) or out_data.shape != (nnz,):
        raise ColoringError(
            f"out_data must be a numpy array of shape ({nnz},), got "
            f"{getattr(out_data, 'shape', None)}")
