"""Turn user input into a canonical sparsity pattern (the package boundary).

The pattern is a ``scipy.sparse.csr_array`` of dtype bool with sorted, unique indices.
Every *stored* entry of a sparse input is a structural nonzero, explicit zeros included:
a Jacobian entry that happens to be zero at one point may not be zero at the next.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._errors import ColoringError
from ._jit import njit
from ._small import is_small, transpose

__all__ = ["as_pattern", "transpose_pattern", "is_symmetric_pattern"]


def _is_networkx_graph(A: Any) -> bool:
    return hasattr(A, "adj") and hasattr(A, "nodes") and hasattr(A, "is_directed")


def _from_networkx(G: Any) -> sp.csr_array:
    """Symmetric pattern of a graph: its edges in both directions plus the diagonal.

    The diagonal is included because a symmetric matrix (a Hessian) whose adjacency graph
    is ``G`` has a nonzero diagonal; it does not change star or acyclic colorings.
    """
    nodes = list(G.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    edges = np.array([(index[u], index[v]) for u, v in G.edges() if u != v],
                     dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    cols = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    return _csr_from_coo(rows, cols, (n, n))


def _csr_from_coo(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    A = sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=shape)
    A.sum_duplicates()  # bool addition is "or": duplicates collapse to one stored True
    A.sort_indices()
    return A


def as_pattern(A: Any) -> sp.csr_array:
    """Canonical boolean CSR pattern of ``A`` with int64 index arrays.

    Parameters
    ----------
    A : scipy.sparse matrix or array, numpy.ndarray, networkx graph, or array-like
        Sparse inputs: every stored entry (explicit zeros too) is a structural nonzero.
        Dense inputs: the nonzero entries. Graphs: the edges in both directions plus
        the diagonal.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean pattern with sorted unique indices, ``indptr``/``indices`` of int64.

    Raises
    ------
    ColoringError
        If ``A`` is not two-dimensional.
    """
    if sp.issparse(A):
        if A.ndim != 2:
            raise ColoringError(f"expected a 2-D sparse matrix, got ndim={A.ndim}")
        if A.format == "csr" and A.has_canonical_format:
            P = sp.csr_array((np.ones(A.indices.size, dtype=bool), A.indices, A.indptr),
                             shape=A.shape)
        else:
            coo = A.tocoo()
            P = _csr_from_coo(np.asarray(coo.row), np.asarray(coo.col), A.shape)
    elif _is_networkx_graph(A):
        P = _from_networkx(A)
    else:
        D = np.asarray(A)
        if D.ndim != 2:
            raise ColoringError(
                f"expected a 2-D matrix (scipy.sparse, numpy array or networkx graph), "
                f"got an array of shape {D.shape}")
        rows, cols = np.nonzero(D)
        P = _csr_from_coo(rows, cols, D.shape)
    # int64 everywhere so the Numba kernels are compiled for one signature only; own
    # copies (never the caller's arrays), read-only because decompressed matrices share them
    P.indptr = _frozen_int64(P.indptr)
    P.indices = _frozen_int64(P.indices)
    return P


def _frozen_int64(a: np.ndarray) -> np.ndarray:
    """A read-only int64 copy of ``a``; ``a`` itself when it is already a read-only int64
    array owning its memory (nobody holds a writeable view of it): a pattern handed on
    from one package to the next is then not copied again."""
    if (a.dtype == np.int64 and a.base is None and not a.flags.writeable
            and a.flags.c_contiguous):
        return a
    out = np.array(a, dtype=np.int64, copy=True, order="C")
    out.flags.writeable = False
    return out


@njit(cache=True)
def _transpose(indptr, indices, ncols):
    """CSC structure of a CSR pattern by counting sort (row indices come out sorted)."""
    nnz = indices.size
    tptr = np.zeros(ncols + 1, np.int64)
    for a in range(nnz):
        tptr[indices[a] + 1] += 1
    for j in range(ncols):
        tptr[j + 1] += tptr[j]
    fill = tptr[:-1].copy()
    tind = np.empty(nnz, np.int64)
    m = indptr.size - 1
    for i in range(m):
        for a in range(indptr[i], indptr[i + 1]):
            j = indices[a]
            tind[fill[j]] = i
            fill[j] += 1
    return tptr, tind


def transpose_pattern(P: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr, indices)`` of the transpose of the CSR pattern ``P`` (i.e. its CSC)."""
    if is_small(P.nnz, _transpose):
        return transpose(P.indptr, P.indices, P.shape[1])
    return _transpose(P.indptr, P.indices, P.shape[1])


@njit(cache=True)
def _first_unmirrored(indptr, indices):
    """An entry ``(i, j)`` of a canonical CSR pattern whose mirror is missing, or (-1, -1).

    Rows are scanned in increasing order; the entries below the diagonal of row ``j``
    are met in increasing column order, so one cursor per row matches every mirror in
    ``O(nnz)`` without building the transpose.
    """
    n = indptr.size - 1
    cursor = indptr[:-1].copy()
    for i in range(n):
        for a in range(indptr[i], indptr[i + 1]):
            j = indices[a]
            if j <= i:
                continue
            # entries of row j below the diagonal with column < i have no mirror
            c = cursor[j]
            if c < indptr[j + 1] and indices[c] < i:
                return j, indices[c]
            if c >= indptr[j + 1] or indices[c] != i:
                return i, j
            cursor[j] = c + 1
    for j in range(n):
        c = cursor[j]
        if c < indptr[j + 1] and indices[c] < j:
            return j, indices[c]
    return -1, -1


def is_symmetric_pattern(P: sp.csr_array) -> tuple[bool, tuple[int, int] | None]:
    """Whether a square canonical CSR pattern equals its transpose.

    Returns
    -------
    (bool, (i, j) or None)
        ``(i, j)`` is a stored entry whose mirror ``(j, i)`` is missing.
    """
    i, j = _first_unmirrored(P.indptr, P.indices)
    if i < 0:
        return True, None
    return False, (int(i), int(j))
