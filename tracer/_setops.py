"""The set-array operations of the tracer: numpy for small inputs, Numba for large ones.

Every function here has the signature and the result of the Numba kernel of the same
name in :mod:`tracer._kernels` (see there for the CSR-like layout). Below
:data:`COMPILE_MIN_SIZE` keys and map entries in the inputs the operation runs as a few
vectorized numpy calls, unless the kernel is already compiled in this process; above,
the kernel runs (compiled on its first use). Compiling
the kernels is a one-time cost far above what they save on small arrays, so tracing a
small function compiles nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

import numpy as np

__all__ = ["COMPILE_MIN_SIZE", "is_range", "gather_rows", "union2", "union_rows",
           "rows_subset", "self_pairs", "cross_pairs", "splice_rows", "cumulative_union"]

#: Inputs with fewer keys and map entries than this take the numpy path.
COMPILE_MIN_SIZE = 1 << 16

#: Traces of fewer inputs keep every set operation on the numpy path, however large
#: their intermediates: a small function then compiles no kernel on a cold start.
SMALL_TRACE_INPUTS = 4096

# Per thread: operations forced onto the numpy path (small traces, and tests comparing
# the two paths).
_forced = threading.local()


@contextlib.contextmanager
def numpy_only():
    """Keep every operation of this thread on the numpy path while active (nesting-safe)."""
    _forced.depth = getattr(_forced, "depth", 0) + 1
    try:
        yield
    finally:
        _forced.depth -= 1


class _Kernels:
    """:mod:`tracer._kernels`, imported (with Numba) when a large input first needs it."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module("tracer._kernels"), name)


K = _Kernels()


def _small(kernel: str, *arrays: np.ndarray) -> bool:
    """Whether to take the numpy path: inside a numpy-only trace, or for small inputs unless
    the kernel already runs compiled in this process (then it is the faster one)."""
    if getattr(_forced, "depth", 0) > 0:
        return True
    if sum(a.size for a in arrays) >= COMPILE_MIN_SIZE:
        return False
    module = sys.modules.get("tracer._kernels")
    return module is None or not getattr(module, kernel).signatures


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + k) for s, k in zip(starts, lens)])``, vectorized."""
    total = int(lens.sum())
    first = np.cumsum(lens) - lens
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, lens)


def _starts_lens(ptr: np.ndarray, rowmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of source row ``rowmap[e]`` for every e (``-1``: length 0)."""
    if ptr.size < 2:  # no source rows: every entry of the map is -1
        return np.zeros(rowmap.size, np.int64), np.zeros(rowmap.size, np.int64)
    r = np.maximum(rowmap, 0)
    return ptr[r], np.where(rowmap >= 0, ptr[r + 1] - ptr[r], 0)


def _expand(ptr: np.ndarray, idx: np.ndarray, rowmap: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Output row and key of every key of rows ``rowmap`` (``-1``: empty), in order."""
    starts, lens = _starts_lens(ptr, rowmap)
    rows = np.repeat(np.arange(rowmap.size, dtype=np.int64), lens)
    return rows, idx[_ranges(starts, lens)]


def _identity_or(rowmap: np.ndarray, m: int) -> np.ndarray:
    return np.arange(m, dtype=np.int64) if rowmap.size == 0 else rowmap


def _sorted_unique_rows(rows: np.ndarray, keys: np.ndarray, m: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Set array with row ``e`` = the sorted unique ``keys`` where ``rows == e``."""
    order = np.lexsort((keys, rows))
    rows, keys = rows[order], keys[order]
    keep = np.ones(rows.size, bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
    rows, keys = rows[keep], keys[keep]
    ptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=ptr[1:])
    return ptr, keys


def is_range(rows: np.ndarray) -> bool:
    """See :func:`tracer._kernels.is_range`."""
    if not _small("is_range", rows):
        return K.is_range(rows)
    if rows.size == 0:
        return True
    return bool(rows[0] >= 0 and np.array_equal(
        rows, np.arange(rows[0], rows[0] + rows.size, dtype=rows.dtype)))


def gather_rows(indptr, indices, rowmap):
    """See :func:`tracer._kernels.gather_rows`."""
    if not _small("gather_rows", indices, rowmap):
        return K.gather_rows(indptr, indices, rowmap)
    rows, keys = _expand(indptr, indices, rowmap)
    ptr = np.zeros(rowmap.size + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=rowmap.size), out=ptr[1:])
    return ptr, keys


def union2(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m):
    """See :func:`tracer._kernels.union2`."""
    if not _small("union2", idx_a, map_a, idx_b, map_b):
        return K.union2(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m)
    ra, ka = _expand(ptr_a, idx_a, _identity_or(map_a, m))
    rb, kb = _expand(ptr_b, idx_b, _identity_or(map_b, m))
    return _sorted_unique_rows(np.concatenate([ra, rb]), np.concatenate([ka, kb]), m)


def union_rows(indptr, indices, sel_ptr, sel_rows):
    """See :func:`tracer._kernels.union_rows`."""
    if not _small("union_rows", indices, sel_rows):
        return K.union_rows(indptr, indices, sel_ptr, sel_rows)
    m = sel_ptr.size - 1
    slot, keys = _expand(indptr, indices, sel_rows)
    owner = np.repeat(np.arange(m, dtype=np.int64), np.diff(sel_ptr))
    return _sorted_unique_rows(owner[slot], keys, m)


def rows_subset(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m):
    """See :func:`tracer._kernels.rows_subset`."""
    if not _small("rows_subset", idx_a, map_a, idx_b, map_b):
        return K.rows_subset(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m)
    union_ptr, _ = union2(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m)
    _, lens_a = _starts_lens(ptr_a, _identity_or(map_a, m))
    return bool(np.array_equal(np.diff(union_ptr), lens_a))


def self_pairs(indptr, indices, n):
    """See :func:`tracer._kernels.self_pairs`."""
    if not _small("self_pairs", indices):
        return K.self_pairs(indptr, indices, n)
    m = indptr.size - 1
    lens = np.diff(indptr)
    row_of = np.repeat(np.arange(m, dtype=np.int64), lens)
    later = indptr[row_of + 1] - np.arange(indices.size, dtype=np.int64)  # b from a on
    first = np.repeat(np.arange(indices.size, dtype=np.int64), later)
    second = _ranges(np.arange(indices.size, dtype=np.int64), later)
    ptr = np.zeros(m + 1, np.int64)
    np.cumsum(lens * (lens + 1) // 2, out=ptr[1:])
    return ptr, indices[first] * n + indices[second]


def cross_pairs(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m, n):
    """See :func:`tracer._kernels.cross_pairs`."""
    if not _small("cross_pairs", idx_a, map_a, idx_b, map_b):
        return K.cross_pairs(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m, n)
    sa, la = _starts_lens(ptr_a, _identity_or(map_a, m))
    sb, lb = _starts_lens(ptr_b, _identity_or(map_b, m))
    count = la * lb
    rows = np.repeat(np.arange(m, dtype=np.int64), count)
    q = _ranges(np.zeros(m, np.int64), count)  # position within the row's pairs
    width = lb[rows]
    i = idx_a[sa[rows] + q // width]
    j = idx_b[sb[rows] + q % width]
    return _sorted_unique_rows(rows, np.minimum(i, j) * n + np.maximum(i, j), m)


def splice_rows(indptr, indices, positions, rep_ptr, rep_idx):
    """See :func:`tracer._kernels.splice_rows`."""
    if not _small("splice_rows", indices, rep_idx):
        return K.splice_rows(indptr, indices, positions, rep_ptr, rep_idx)
    m = indptr.size - 1
    own = np.arange(m, dtype=np.int64)
    own[positions] = -1
    rows_o, keys_o = _expand(indptr, indices, own)
    rep_map = np.full(m, -1, np.int64)
    rep_map[positions] = np.arange(positions.size, dtype=np.int64)
    rows_r, keys_r = _expand(rep_ptr, rep_idx, rep_map)
    rows = np.concatenate([rows_o, rows_r])
    order = np.argsort(rows, kind="stable")  # each row comes from one source, in order
    ptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=ptr[1:])
    return ptr, np.concatenate([keys_o, keys_r])[order]


def cumulative_union(indptr, indices, sel_ptr, sel_rows):
    """See :func:`tracer._kernels.cumulative_union` (a Python loop over the segments when
    small: only cumsum uses it)."""
    if not _small("cumulative_union", indices, sel_rows):
        return K.cumulative_union(indptr, indices, sel_ptr, sel_rows)
    ptrs, keys = [np.zeros(1, np.int64)], []
    total = 0
    for s in range(sel_ptr.size - 1):
        seg = sel_rows[sel_ptr[s]:sel_ptr[s + 1]]
        run = np.zeros(0, np.int64)
        for r in seg:
            run = np.union1d(run, indices[indptr[r]:indptr[r + 1]]).astype(np.int64)
            keys.append(run)
            total += run.size
            ptrs.append(np.array([total], np.int64))
    return np.concatenate(ptrs), (np.concatenate(keys) if keys else np.zeros(0, np.int64))
