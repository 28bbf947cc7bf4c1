"""numpy twins of the Numba kernels that column and row colorings use, for small patterns.

Compiling the Numba kernels is a one-time cost far above what they save on a pattern of a
few thousand nonzeros. Below :data:`COMPILE_MIN_SIZE` stored
entries, the callers use these twins instead, so that coloring a small pattern compiles
nothing. Each twin returns exactly what its kernel returns (the tests compare them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._jit import is_compiled

__all__ = ["COMPILE_MIN_SIZE", "GREEDY_COMPILE_MIN_SIZE", "DISTANCE2_TWIN_MAX_WORK", "is_small",
           "greedy_is_small", "distance2_is_small", "transpose", "distance2_degrees",
           "by_decreasing_key", "greedy_bipartite", "class_order"]

#: Patterns with fewer stored entries than this take the vectorized twins below.
COMPILE_MIN_SIZE = 1 << 16

#: The greedy twin is a Python loop (interpreted work per stored entry and pass, and the
#: improvement runs up to some 20 passes): it serves only patterns below this many
#: entries. Up to there it costs less than what a new process pays to run the compiled
#: kernel even from Numba's cache (importing Numba, starting its code generator), though
#: more than the kernel itself in a process that has both already.
GREEDY_COMPILE_MIN_SIZE = 1 << 14

#: The distance-2 degree twin builds the product of the two adjacency levels, one entry
#: per distance-2 pair, sorted: it serves only graphs whose distance-2 scan visits fewer
#: entries than this. Few nonzeros can have far more distance-2 pairs (a dense row of
#: ``n`` columns gives ``n**2``); the compiled marker kernel needs no temporary and
#: visits each entry once with no sort, so above this size it costs less than the
#: product even counting the import of Numba and the load of the kernel from its cache.
DISTANCE2_TWIN_MAX_WORK = 1 << 22


def is_small(nnz: int, kernel: Any = None) -> bool:
    """Whether a pattern with ``nnz`` stored entries takes the vectorized numpy twin of
    ``kernel``: below the threshold, unless the kernel already runs compiled in this
    process (then it is the faster one)."""
    return nnz < COMPILE_MIN_SIZE and not (kernel is not None and is_compiled(kernel))


def greedy_is_small(nnz: int, kernel: Any = None) -> bool:
    """Whether a pattern with ``nnz`` stored entries is colored by :func:`greedy_bipartite`
    (below the threshold, unless ``kernel`` already runs compiled in this process)."""
    return nnz < GREEDY_COMPILE_MIN_SIZE and not (kernel is not None and is_compiled(kernel))


def distance2_is_small(work: int) -> bool:
    """Whether a graph whose distance-2 scan visits ``work`` adjacency entries is small
    enough for :func:`distance2_degrees` (callers also ask :func:`is_small`)."""
    return work < DISTANCE2_TWIN_MAX_WORK


def transpose(indptr: np.ndarray, indices: np.ndarray, ncols: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``_pattern._transpose``: CSC structure, row indices sorted per column."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    tind = rows[np.argsort(indices, kind="stable")]
    tptr = np.zeros(ncols + 1, np.int64)
    np.cumsum(np.bincount(indices, minlength=ncols), out=tptr[1:])
    return tptr, tind


def distance2_degrees(n: int, p1: np.ndarray, i1: np.ndarray, p2: np.ndarray,
                      i2: np.ndarray) -> np.ndarray:
    """Twin of ``_orderings._degrees``: distinct neighbors of each vertex, itself excluded."""
    nodes = p2.size - 1
    L1 = sp.csr_array((np.ones(i1.size, np.int64), i1, p1), shape=(n, nodes))
    L2 = sp.csr_array((np.ones(i2.size, np.int64), i2, p2), shape=(nodes, n))
    C = sp.csr_array(L1 @ L2)
    C.sum_duplicates()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(C.indptr))
    has_self = np.bincount(rows[C.indices == rows], minlength=n)
    return (np.diff(C.indptr) - has_self).astype(np.int64)


def by_decreasing_key(key: np.ndarray) -> np.ndarray:
    """Twin of ``_orderings._by_decreasing_key``: ties by increasing index."""
    return np.argsort(-np.asarray(key, np.int64), kind="stable").astype(np.int64)


def greedy_bipartite(order: np.ndarray, p1: np.ndarray, i1: np.ndarray,
                     nnodes: int) -> np.ndarray:
    """Twin of ``_greedy._greedy_bitmask``: the smallest color free at every neighbor node.

    One Python integer per intermediate node holds its colors as bits, so any number of
    colors fits.
    """
    ptr, idx = p1.tolist(), i1.tolist()
    masks = [0] * nnodes
    colors = [-1] * (len(ptr) - 1)
    for v in order.tolist():
        nodes = idx[ptr[v]:ptr[v + 1]]
        taken = 0
        for r in nodes:
            taken |= masks[r]
        c = (~taken & (taken + 1)).bit_length() - 1  # lowest clear bit
        bit = 1 << c
        for r in nodes:
            masks[r] |= bit
        colors[v] = c
    return np.array(colors, dtype=np.int64)


def class_order(colors: np.ndarray, class_rank: np.ndarray, reverse_within: bool
                ) -> np.ndarray:
    """Twin of ``_greedy._class_order``: vertices by class rank, then index (or reversed)."""
    n = colors.size
    index = np.arange(n - 1, -1, -1, dtype=np.int64) if reverse_within else np.arange(
        n, dtype=np.int64)
    return index[np.argsort(class_rank[colors[index]], kind="stable")]


def first_conflict(indptr: np.ndarray, indices: np.ndarray, colors: np.ndarray,
                   ncolors: int) -> tuple[int, int, int]:
    """Twin of ``_api._first_conflict``: the first entry, in storage order, whose vertex
    has the color of an earlier vertex of the same node, as ``(node, earlier, vertex)``;
    ``(-1, -1, -1)`` if there is none."""
    nodes = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    key = nodes * max(int(ncolors), 1) + np.asarray(colors, np.int64)[indices]
    order = np.argsort(key, kind="stable")  # equal keys keep storage order
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if dup.size == 0:
        return -1, -1, -1
    later = order[dup + 1]
    i = int(np.argmin(later))  # the repeat met first in storage order, and its predecessor
    a, b = int(later[i]), int(order[dup[i]])
    return int(nodes[a]), int(indices[b]), int(indices[a])
