"""Adjacency-graph helpers shared by star and acyclic coloring of symmetric patterns.

A symmetric sparsity pattern in CSR form (``indptr``, ``indices``; sorted indices, the
diagonal optional) is read as an undirected graph: vertex ``i`` is column ``i``, every
off-diagonal pair ``(i, j), (j, i)`` is one edge. Both kernels address edges by a dense
edge id, and both stored positions of an edge map to it, so per-edge state (star or
tree membership) lives in flat arrays instead of dictionaries.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from coloring._errors import ColoringError
from coloring._jit import njit


@njit(cache=True)
def smallest_free_color(forbidden, v):
    """The smallest color ``c`` with ``forbidden[c] != v`` (the greedy choice for ``v``).

    ``forbidden[c] == v`` marks the colors excluded for the vertex ``v`` being colored, so
    the array never needs clearing between vertices.
    """
    c = 0
    while forbidden[c] == v:
        c += 1
    return c


#: The kernels count a walk of a per-vertex list one per this many entries: a list is
#: contiguous (8 int64 entries to a 64-byte cache line), where each adjacency position
#: reads scattered arrays at the neighbor (its color, list length, marks), so an entry
#: costs a fraction of a position. Counted one per entry, the count of a pattern with
#: many colors (long lists) would run ahead of its cost by several times.
LIST_ENTRIES_PER_COUNT = 8


@njit(cache=True)
def list_walk_count(length):
    """What a walk of a per-vertex list of ``length`` entries counts."""
    return (length + LIST_ENTRIES_PER_COUNT - 1) // LIST_ENTRIES_PER_COUNT


#: ``work_limit`` of a kernel pass without a budget (and ``max_colors`` without a cap).
NO_LIMIT = np.iinfo(np.int64).max

#: Why a kernel pass stopped: it colored every vertex, a vertex needed a color
#: ``>= max_colors``, or its next step would have counted more than ``work_limit``.
COMPLETE, TOO_MANY_COLORS, OVER_BUDGET = 0, 1, 2


def adjacency_order_work(name: str, n: int, nnz: int) -> int:
    """Work counted for computing the order ``name`` (of :data:`coloring.ORDERINGS`) of
    the adjacency graph of a symmetric pattern with ``n`` vertices and ``nnz`` stored
    entries: one per vertex, plus one per stored entry for the orders that scan the
    adjacency (all but natural, random and largest-first, whose degrees are row
    lengths)."""
    return n if name in ("natural", "random", "largest_first") else n + nnz


def as_limit(limit: float | None) -> int:
    """A kernel's ``max_colors`` or ``work_limit`` argument: None (no limit) and anything
    from :data:`NO_LIMIT` up become ``NO_LIMIT``; other values are rounded down."""
    if limit is None or limit >= NO_LIMIT:
        return int(NO_LIMIT)
    return max(int(limit), 0)


class KernelRun(NamedTuple):
    """One greedy pass of the star or acyclic kernel under its limits.

    ``result`` is the kernel's output (None unless ``stopped == COMPLETE``); ``work`` is
    what the pass counted (adjacency positions and per-vertex list entries visited, see
    the kernels), never more than its ``work_limit``, also for a stopped pass.
    """

    result: Any
    work: int
    stopped: int


class UnmirroredEntryError(ColoringError):
    """The pattern is not structurally symmetric: ``entry = (i, j)`` is stored, ``(j, i)`` not."""

    def __init__(self, message: str, entry: tuple[int, int]) -> None:
        super().__init__(message)
        self.entry = entry


@njit(cache=True)
def _edge_ids_kernel(indptr, indices):
    """Number the edges ``i < j`` row by row; ``edge_of_pos[p]`` for both stored positions.

    Returns ``(edge_of_pos, nedges, bad_row, bad_col)``: ``edge_of_pos[p]`` is -1 on the
    diagonal. ``bad_row >= 0`` names a stored entry ``(bad_row, bad_col)`` whose mirror
    is missing (for sorted indices), i.e. the pattern is not symmetric. This is the one
    symmetry check of the star/acyclic path; :mod:`coloring._api` reports it.
    """
    n = indptr.size - 1
    edge_of_pos = np.full(indices.size, -1, np.int64)
    # Rows are scanned in increasing order, so the entries (j, i) with i < j appear in
    # row j in increasing column order: one cursor per row finds every mirror in O(1).
    cursor = indptr[:-1].copy()
    e = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j <= i:
                # (i, j) with j < i must have been matched as a mirror already
                if j < i and edge_of_pos[p] < 0:
                    return edge_of_pos, e, i, j
                continue
            q = cursor[j]
            if q < indptr[j + 1] and indices[q] < i:
                # rows < i are done, so (j, indices[q]) can no longer be matched
                return edge_of_pos, e, j, indices[q]
            if q >= indptr[j + 1] or indices[q] != i:
                return edge_of_pos, e, i, j
            cursor[j] = q + 1
            edge_of_pos[p] = e
            edge_of_pos[q] = e
            e += 1
    return edge_of_pos, e, -1, -1


@njit(cache=True)
def _edge_endpoints_kernel(indptr, indices, edge_of_pos, nedges):
    """Endpoints ``u < v`` of every edge and its stored positions in rows ``u`` and ``v``."""
    n = indptr.size - 1
    edge_u = np.empty(nedges, np.int64)
    edge_v = np.empty(nedges, np.int64)
    pos_u = np.empty(nedges, np.int64)
    pos_v = np.empty(nedges, np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            e = edge_of_pos[p]
            if j > i:
                edge_u[e] = i
                edge_v[e] = j
                pos_u[e] = p
            elif j < i:
                pos_v[e] = p
    return edge_u, edge_v, pos_u, pos_v


class SymmetricGraph:
    """Edge numbering of a symmetric CSR pattern, computed once per pattern.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        CSR structure of a square, structurally symmetric pattern with sorted column
        indices. Diagonal entries are allowed and are not edges.

    Attributes
    ----------
    n : int
        Number of vertices (columns).
    nnz : int
        Number of stored entries, diagonal included.
    edge_of_pos : numpy.ndarray
        ``(nnz,)`` edge id of each stored entry, -1 on the diagonal.
    nedges : int
        Number of edges (off-diagonal pairs).
    edge_u, edge_v, pos_u, pos_v : numpy.ndarray
        Endpoints ``u < v`` of each edge and its stored positions in rows ``u`` and ``v``
        (computed on first access).

    Raises
    ------
    UnmirroredEntryError
        A :class:`ColoringError`, if the pattern is not structurally symmetric or its
        indices are unsorted; ``.entry`` is the stored entry without a mirror.
    ColoringError
        If ``indptr`` / ``indices`` are malformed.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        if self.indptr.ndim != 1 or self.indptr.size < 1:
            raise ColoringError("indptr must be a 1-D array of length n + 1")
        self.n = self.indptr.size - 1
        self.nnz = int(self.indptr[-1])
        if self.indices.size != self.nnz:
            raise ColoringError(
                f"indices has {self.indices.size} entries but indptr[-1] = {self.nnz}")
        if self.nnz and (self.indices.min() < 0 or self.indices.max() >= self.n):
            raise ColoringError(f"column indices must lie in 0..{self.n - 1}")
        self.edge_of_pos, nedges, bad_i, bad_j = _edge_ids_kernel(self.indptr, self.indices)
        if bad_i >= 0:
            raise UnmirroredEntryError(
                f"the pattern is not structurally symmetric (or its indices are unsorted): "
                f"entry ({bad_i}, {bad_j}) has no mirror ({bad_j}, {bad_i}); symmetrize it "
                f"(A + A.T) and sort the indices before star or acyclic coloring",
                (int(bad_i), int(bad_j)))
        self.nedges = int(nedges)
        self._endpoints = None

    def _edge_endpoints(self):
        if self._endpoints is None:  # only substitution and the checks need them
            self._endpoints = _edge_endpoints_kernel(self.indptr, self.indices,
                                                     self.edge_of_pos, self.nedges)
        return self._endpoints

    @property
    def edge_u(self) -> np.ndarray:
        return self._edge_endpoints()[0]

    @property
    def edge_v(self) -> np.ndarray:
        return self._edge_endpoints()[1]

    @property
    def pos_u(self) -> np.ndarray:
        return self._edge_endpoints()[2]

    @property
    def pos_v(self) -> np.ndarray:
        return self._edge_endpoints()[3]


def check_order(order: np.ndarray, n: int) -> np.ndarray:
    """Return ``order`` as a contiguous int64 permutation of ``0..n-1`` or raise."""
    order = np.ascontiguousarray(order, dtype=np.int64)
    if order.shape != (n,):
        raise ColoringError(f"order must have shape ({n},), got {order.shape}")
    if n and (order.min() < 0 or order.max() >= n
              or not np.all(np.bincount(order, minlength=n) == 1)):
        raise ColoringError("order must be a permutation of 0..n-1")
    return order
