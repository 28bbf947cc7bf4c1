"""Adjacency-graph helpers shared by star and acyclic coloring of symmetric patterns.

A symmetric sparsity pattern in CSR form (``indptr``, ``indices``; sorted indices, the
diagonal optional) is read as an undirected graph: vertex ``i`` is column ``i``, every
off-diagonal pair ``(i, j), (j, i)`` is one edge. Both kernels address edges by a dense
edge id, and both stored positions of an edge map to it, so per-edge state (star or
tree membership) lives in flat arrays instead of dictionaries.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from coloring._errors import ColoringError


@njit(cache=True)
def _edge_ids_kernel(indptr, indices):
    """Number the edges ``i < j`` row by row and find the mirrored position of each.

    Returns ``(edge_of_pos, edge_u, edge_v, pos_u, pos_v, bad_row, bad_col)``:
    ``edge_of_pos[p]`` is the edge id of stored position ``p`` (-1 on the diagonal);
    edge ``e`` joins ``edge_u[e] < edge_v[e]`` and is stored at ``pos_u[e]`` (row ``u``)
    and ``pos_v[e]`` (row ``v``). ``bad_row >= 0`` names an entry ``(bad_row, bad_col)``
    whose mirror is missing, i.e. the pattern is not symmetric (or not sorted).
    """
    n = indptr.size - 1
    nnz = indices.size
    edge_of_pos = np.full(nnz, -1, np.int64)
    # Rows are scanned in increasing order, so the entries (j, i) with i < j appear in
    # row j in increasing column order: one cursor per row finds every mirror in O(1).
    cursor = indptr[:-1].copy()
    n_off = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] != i:
                n_off += 1
    nedges = n_off // 2
    edge_u = np.empty(nedges, np.int64)
    edge_v = np.empty(nedges, np.int64)
    pos_u = np.empty(nedges, np.int64)
    pos_v = np.empty(nedges, np.int64)
    e = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j <= i:
                if j == i:
                    continue
                # (i, j) with j < i must have been matched as a mirror already
                if edge_of_pos[p] < 0:
                    return edge_of_pos, edge_u, edge_v, pos_u, pos_v, i, j
                continue
            q = cursor[j]
            if q >= indptr[j + 1] or indices[q] != i or e >= nedges:
                return edge_of_pos, edge_u, edge_v, pos_u, pos_v, i, j
            cursor[j] = q + 1
            edge_of_pos[p] = e
            edge_of_pos[q] = e
            edge_u[e] = i
            edge_v[e] = j
            pos_u[e] = p
            pos_v[e] = q
            e += 1
    if e != nedges:
        return edge_of_pos, edge_u, edge_v, pos_u, pos_v, 0, 0
    return edge_of_pos, edge_u, edge_v, pos_u, pos_v, -1, -1


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
    edge_u, edge_v, pos_u, pos_v : numpy.ndarray
        Endpoints ``u < v`` of each edge and its stored positions in rows ``u`` and ``v``.

    Raises
    ------
    ColoringError
        If the pattern is not structurally symmetric or its indices are unsorted.
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
        (self.edge_of_pos, self.edge_u, self.edge_v, self.pos_u, self.pos_v,
         bad_i, bad_j) = _edge_ids_kernel(self.indptr, self.indices)
        if bad_i >= 0:
            raise ColoringError(
                f"the pattern is not structurally symmetric (or its indices are unsorted): "
                f"entry ({bad_i}, {bad_j}) has no mirror ({bad_j}, {bad_i}); symmetrize it "
                f"(A + A.T) and sort the indices before star or acyclic coloring")
        self.nedges = self.edge_u.size


def check_order(order: np.ndarray, n: int) -> np.ndarray:
    """Return ``order`` as a contiguous int64 permutation of ``0..n-1`` or raise."""
    order = np.ascontiguousarray(order, dtype=np.int64)
    if order.shape != (n,):
        raise ColoringError(f"order must have shape ({n},), got {order.shape}")
    if n and (order.min() < 0 or order.max() >= n
              or not np.all(np.bincount(order, minlength=n) == 1)):
        raise ColoringError("order must be a permutation of 0..n-1")
    return order
