"""The CSR set algebra of the tracer and its caches.

A *set array* is a pair ``(indptr, indices)``: row ``e`` holds the sorted keys
``indices[indptr[e]:indptr[e + 1]]`` (input indices for first-order sets, pair keys
``i * n + j`` with ``i <= j`` for second-order sets). Set arrays are never mutated in
place, so operations that do not change the sets share them. A *row map* says which
source row each output row takes (``-1``: an empty row; an empty map: the identity).

The operations here are vectorized over rows and call :mod:`tracer._setops` (numpy for
small inputs, Numba kernels for large ones); the grids and broadcast maps that they
need again and again are cached per shape.
"""

from __future__ import annotations

import numpy as np

from . import _setops as K

EMPTY = np.empty(0, np.int64)
EMPTY.flags.writeable = False


def empty_sets(m: int):
    return (np.zeros(m + 1, np.int64), EMPTY)


def _size(shape) -> int:
    s = 1
    for d in shape:
        s *= d
    return s


_IDX_CACHE: dict[tuple, np.ndarray] = {}


def index_grid(shape: tuple) -> np.ndarray:
    """Read-only ``arange(size).reshape(shape)`` (cached): flat positions of each element."""
    a = _IDX_CACHE.get(shape)
    if a is None:
        a = np.arange(_size(shape), dtype=np.int64).reshape(shape)
        a.flags.writeable = False
        if len(_IDX_CACHE) > 256:
            _IDX_CACHE.clear()
        _IDX_CACHE[shape] = a
    return a


_BMAP_CACHE: dict[tuple, np.ndarray] = {}


def broadcast_map(shape: tuple, out_shape: tuple) -> np.ndarray:
    """Row map that broadcasts an array of ``shape`` to ``out_shape`` (empty: identity)."""
    if shape == out_shape:
        return EMPTY
    key = (shape, out_shape)
    m = _BMAP_CACHE.get(key)
    if m is None:
        m = np.ascontiguousarray(np.broadcast_to(index_grid(shape), out_shape)).ravel()
        m.flags.writeable = False
        if len(_BMAP_CACHE) > 256:
            _BMAP_CACHE.clear()
        _BMAP_CACHE[key] = m
    return m


def take_rows(sets, rows: np.ndarray):
    """Gather rows of a CSR set array; contiguous ranges are sliced without copying."""
    ptr, idx = sets
    m = rows.size
    if m == 0:
        return empty_sets(0)
    if idx.size == 0:
        return empty_sets(m)
    r0 = int(rows[0])
    if r0 >= 0 and int(rows[-1]) - r0 == m - 1 and K.is_range(rows):
        if r0 == 0 and m == ptr.size - 1:
            return sets
        p = ptr[r0:r0 + m + 1]
        start = p[0]
        return (p - start, idx[start:p[-1]])
    return K.gather_rows(ptr, idx, rows)


def union_pieces(pieces, m: int):
    """Union of ``[(sets, rowmap), ...]`` aligned to ``m`` output elements."""
    kept = []
    for sets, rowmap in pieces:
        if sets[1].size == 0:
            continue
        if any(s[1] is sets[1] and s[0] is sets[0]
               and (r is rowmap or (r.size == 0 and rowmap.size == 0)) for s, r in kept):
            continue
        kept.append((sets, rowmap))
    if not kept:
        return empty_sets(m)
    (s0, r0) = kept[0]
    if len(kept) == 1:
        return s0 if r0.size == 0 else take_rows(s0, r0)
    acc, racc = s0, r0
    for s, r in kept[1:]:
        acc, racc = _union_two(acc, racc, s, r, m), EMPTY
    return acc


def _union_two(a, ra, b, rb, m):
    """Union of two aligned set arrays, reusing one of them when it contains the other."""
    if ra.size == 0 and K.rows_subset(a[0], a[1], ra, b[0], b[1], rb, m):
        return a
    if rb.size == 0 and K.rows_subset(b[0], b[1], rb, a[0], a[1], ra, m):
        return b
    return K.union2(a[0], a[1], ra, b[0], b[1], rb, m)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique`` for int64 keys via sort + mask (np.unique is hash-based and slower)."""
    if a.size == 0:
        return a
    u = np.sort(a)
    keep = np.empty(u.size, bool)
    keep[0] = True
    np.not_equal(u[1:], u[:-1], out=keep[1:])
    return u[keep]


def self_pairs(g, n: int):
    return K.self_pairs(g[0], g[1], n)



def concat_sources(arrays):
    """Stack the CSR rows of several traced arrays into one source."""
    if len(arrays) == 1:
        a = arrays[0]
        return a._g, a._h
    gp = [a._g for a in arrays]
    # shift each block's pointers by the entries before it
    offs = np.cumsum([0] + [p[1].size for p in gp[:-1]])
    ptr = np.concatenate([gp[0][0]] + [p[0][1:] + o for p, o in zip(gp[1:], offs[1:])])
    g = (ptr, np.concatenate([p[1] for p in gp]))
    h = None
    if arrays[0]._h is not None:
        hp = [a._h for a in arrays]
        offs = np.cumsum([0] + [p[1].size for p in hp[:-1]])
        hptr = np.concatenate([hp[0][0]] + [p[0][1:] + o for p, o in zip(hp[1:], offs[1:])])
        h = (hptr, np.concatenate([p[1] for p in hp]))
    return g, h
