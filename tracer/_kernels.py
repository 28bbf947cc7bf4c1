"""Numba kernels on CSR-like index sets.

A traced array of size ``m`` stores, for each element ``e`` (C order), a sorted array of
unique int64 keys ``indices[indptr[e]:indptr[e+1]]``. Keys are input indices (first-order
dependence) or encoded index pairs ``i * n + j`` with ``i <= j`` (second-order dependence).

Every kernel costs time proportional to the number of keys it reads and writes. A "map"
argument selects, for each output element, a row of the source (``-1``: empty row); an
empty map means the identity.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_SMALL = 24  # below this many keys, insertion sort beats np.sort

# Kernels may compile lazily in the middle of a trace, while ``np.empty`` is patched to
# return traced buffers (see ``_patching``). Numba resolves ``np.empty`` at compile time,
# so the kernels use this alias, bound to the real function at import.
_np_empty = np.empty


@njit(cache=True)
def _sort_unique_inplace(buf, start, stop):
    """Sort ``buf[start:stop]`` and remove duplicates in place; return the new stop."""
    length = stop - start
    if length <= 1:
        return stop
    if length <= _SMALL:
        for a in range(start + 1, stop):
            key = buf[a]
            b = a - 1
            while b >= start and buf[b] > key:
                buf[b + 1] = buf[b]
                b -= 1
            buf[b + 1] = key
    else:
        # copied back by a loop: a slice assignment compiles Numba's shape-error
        # formatting, which would lengthen every cold start
        srt = np.sort(buf[start:stop])
        for a in range(length):
            buf[start + a] = srt[a]
    w = start + 1
    for r in range(start + 1, stop):
        if buf[r] != buf[w - 1]:
            buf[w] = buf[r]
            w += 1
    return w


@njit(cache=True)
def gather_rows(indptr, indices, rowmap):
    """Output row ``e`` is source row ``rowmap[e]`` (``-1``: empty)."""
    m = rowmap.size
    out_ptr = _np_empty(m + 1, np.int64)
    out_ptr[0] = 0
    total = 0
    for e in range(m):
        r = rowmap[e]
        if r >= 0:
            total += indptr[r + 1] - indptr[r]
        out_ptr[e + 1] = total
    out_idx = _np_empty(total, np.int64)
    for e in range(m):
        r = rowmap[e]
        if r >= 0:
            s = indptr[r]
            length = indptr[r + 1] - s
            p = out_ptr[e]
            for t in range(length):
                out_idx[p + t] = indices[s + t]
    return out_ptr, out_idx


@njit(cache=True)
def union2(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m):
    """Elementwise union of two (broadcast) set arrays: row ``e`` = a[map_a[e]] | b[map_b[e]]."""
    ida = map_a.size == 0
    idb = map_b.size == 0
    cap = 0
    for e in range(m):
        ra = e if ida else map_a[e]
        rb = e if idb else map_b[e]
        if ra >= 0:
            cap += ptr_a[ra + 1] - ptr_a[ra]
        if rb >= 0:
            cap += ptr_b[rb + 1] - ptr_b[rb]
    out_ptr = _np_empty(m + 1, np.int64)
    out_idx = _np_empty(cap, np.int64)
    out_ptr[0] = 0
    p = 0
    for e in range(m):
        ra = e if ida else map_a[e]
        rb = e if idb else map_b[e]
        i, iend, j, jend = 0, 0, 0, 0
        if ra >= 0:
            i = ptr_a[ra]
            iend = ptr_a[ra + 1]
        if rb >= 0:
            j = ptr_b[rb]
            jend = ptr_b[rb + 1]
        while i < iend and j < jend:
            va = idx_a[i]
            vb = idx_b[j]
            if va < vb:
                out_idx[p] = va
                i += 1
            elif vb < va:
                out_idx[p] = vb
                j += 1
            else:
                out_idx[p] = va
                i += 1
                j += 1
            p += 1
        while i < iend:
            out_idx[p] = idx_a[i]
            i += 1
            p += 1
        while j < jend:
            out_idx[p] = idx_b[j]
            j += 1
            p += 1
        out_ptr[e + 1] = p
    return out_ptr, out_idx[:p]


@njit(cache=True)
def union_rows(indptr, indices, sel_ptr, sel_rows):
    """Row ``e`` = union of source rows ``sel_rows[sel_ptr[e]:sel_ptr[e+1]]`` (``-1`` skipped).

    Covers reductions (segments of rows), products with constant patterns (rows picked by
    a matrix's nonzeros) and scatter-adds.
    """
    m = sel_ptr.size - 1
    cap = 0
    for t in range(sel_rows.size):
        r = sel_rows[t]
        if r >= 0:
            cap += indptr[r + 1] - indptr[r]
    out_ptr = _np_empty(m + 1, np.int64)
    out_idx = _np_empty(cap, np.int64)
    out_ptr[0] = 0
    p = 0
    for e in range(m):
        start = p
        for t in range(sel_ptr[e], sel_ptr[e + 1]):
            r = sel_rows[t]
            if r >= 0:
                for q in range(indptr[r], indptr[r + 1]):
                    out_idx[p] = indices[q]
                    p += 1
        p = _sort_unique_inplace(out_idx, start, p)
        out_ptr[e + 1] = p
    return out_ptr, out_idx[:p]


@njit(cache=True)
def cumulative_union(indptr, indices, sel_ptr, sel_rows):
    """Running union along segments: output slot ``t`` = union of rows ``sel_rows[start..t]``.

    ``sel_ptr`` delimits segments of ``sel_rows``; the output has one row per entry of
    ``sel_rows``, in the same order (used by cumsum along an axis).
    """
    total_rows = sel_rows.size
    cap = 0
    for s in range(sel_ptr.size - 1):
        run = 0
        for t in range(sel_ptr[s], sel_ptr[s + 1]):
            r = sel_rows[t]
            run += indptr[r + 1] - indptr[r]
            cap += run
    out_ptr = _np_empty(total_rows + 1, np.int64)
    out_idx = _np_empty(cap, np.int64)
    out_ptr[0] = 0
    p = 0
    for s in range(sel_ptr.size - 1):
        prev_start = -1
        prev_stop = -1
        for t in range(sel_ptr[s], sel_ptr[s + 1]):
            r = sel_rows[t]
            start = p
            if prev_start >= 0:
                for q in range(prev_start, prev_stop):
                    out_idx[p] = out_idx[q]
                    p += 1
            for q in range(indptr[r], indptr[r + 1]):
                out_idx[p] = indices[q]
                p += 1
            p = _sort_unique_inplace(out_idx, start, p)
            out_ptr[t + 1] = p
            prev_start = start
            prev_stop = p
    return out_ptr, out_idx[:p]


@njit(cache=True)
def self_pairs(indptr, indices, n):
    """Row ``e`` = all pairs ``i * n + j`` with ``i <= j`` from set ``e`` (sorted by design)."""
    m = indptr.size - 1
    out_ptr = _np_empty(m + 1, np.int64)
    out_ptr[0] = 0
    total = 0
    for e in range(m):
        k = indptr[e + 1] - indptr[e]
        total += k * (k + 1) // 2
        out_ptr[e + 1] = total
    out_idx = _np_empty(total, np.int64)
    p = 0
    for e in range(m):
        s = indptr[e]
        t = indptr[e + 1]
        for a in range(s, t):
            ia = indices[a] * n
            for b in range(a, t):
                out_idx[p] = ia + indices[b]
                p += 1
    return out_ptr, out_idx


@njit(cache=True)
def cross_pairs(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m, n):
    """Row ``e`` = pairs ``{min(i,j) * n + max(i,j)}`` for i in a[map_a[e]], j in b[map_b[e]]."""
    ida = map_a.size == 0
    idb = map_b.size == 0
    cap = 0
    for e in range(m):
        ra = e if ida else map_a[e]
        rb = e if idb else map_b[e]
        if ra >= 0 and rb >= 0:
            cap += (ptr_a[ra + 1] - ptr_a[ra]) * (ptr_b[rb + 1] - ptr_b[rb])
    out_ptr = _np_empty(m + 1, np.int64)
    out_idx = _np_empty(cap, np.int64)
    out_ptr[0] = 0
    p = 0
    for e in range(m):
        ra = e if ida else map_a[e]
        rb = e if idb else map_b[e]
        start = p
        if ra >= 0 and rb >= 0:
            for q in range(ptr_a[ra], ptr_a[ra + 1]):
                i = idx_a[q]
                for r in range(ptr_b[rb], ptr_b[rb + 1]):
                    j = idx_b[r]
                    if i <= j:
                        out_idx[p] = i * n + j
                    else:
                        out_idx[p] = j * n + i
                    p += 1
        p = _sort_unique_inplace(out_idx, start, p)
        out_ptr[e + 1] = p
    return out_ptr, out_idx[:p]


@njit(cache=True)
def splice_rows(indptr, indices, positions, rep_ptr, rep_idx):
    """Replace rows ``positions`` (sorted, unique) by the rows of ``(rep_ptr, rep_idx)``."""
    m = indptr.size - 1
    k = positions.size
    out_ptr = _np_empty(m + 1, np.int64)
    out_ptr[0] = 0
    total = 0
    t = 0
    for e in range(m):
        if t < k and positions[t] == e:
            total += rep_ptr[t + 1] - rep_ptr[t]
            t += 1
        else:
            total += indptr[e + 1] - indptr[e]
        out_ptr[e + 1] = total
    out_idx = _np_empty(total, np.int64)
    t = 0
    p = 0
    for e in range(m):
        if t < k and positions[t] == e:
            for q in range(rep_ptr[t], rep_ptr[t + 1]):
                out_idx[p] = rep_idx[q]
                p += 1
            t += 1
        else:
            for q in range(indptr[e], indptr[e + 1]):
                out_idx[p] = indices[q]
                p += 1
    return out_ptr, out_idx


@njit(cache=True)
def rows_subset(ptr_a, idx_a, map_a, ptr_b, idx_b, map_b, m):
    """True when every row ``b[map_b[e]]`` is a subset of ``a[map_a[e]]`` (early exit).

    Lets ``lap(u) - 4 u`` or ``r - u`` reuse the larger operand's arrays unchanged.
    """
    ida = map_a.size == 0
    idb = map_b.size == 0
    for e in range(m):
        ra = e if ida else map_a[e]
        rb = e if idb else map_b[e]
        if rb < 0:
            continue
        j = ptr_b[rb]
        jend = ptr_b[rb + 1]
        if j == jend:
            continue
        if ra < 0:
            return False
        i = ptr_a[ra]
        iend = ptr_a[ra + 1]
        while j < jend:
            v = idx_b[j]
            while i < iend and idx_a[i] < v:
                i += 1
            if i == iend or idx_a[i] != v:
                return False
            j += 1
    return True


@njit(cache=True)
def is_range(rows):
    """True when ``rows`` is ``r0, r0+1, ...`` with ``r0 >= 0`` (a contiguous slice)."""
    if rows.size == 0:
        return True
    r0 = rows[0]
    if r0 < 0:
        return False
    for t in range(1, rows.size):
        if rows[t] != r0 + t:
            return False
    return True
