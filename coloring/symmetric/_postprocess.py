"""Post-processing of symmetric plans: drop colors that decompression never reads.

Decompression reads ``B = A @ S`` only at a few positions: for a star plan ``B[leaf,
color[hub]]`` and ``B[i, color[i]]`` for stored diagonal entries; for an acyclic plan the
substitution steps and the diagonal. A color that is never read is *neutral*
(SparseMatrixColorings.jl's post-processing; Gebremedhin et al. 2009, "Efficient
computation of sparse Hessians using coloring and automatic differentiation", INFORMS J.
Comput. 21(2), discuss the same freedom). Its seed column only has to stay out of the
positions that are read, so each vertex ``u`` of a neutral color may join any read color
``c`` that no neighbor ``r`` of ``u`` reads (``A[r, u]`` would otherwise pollute ``B[r,
c]``; ``u`` itself has no stored diagonal, or its color would be read). A vertex with no
such color goes into one spare neutral column, shared by all such vertices, since nobody
reads it. Vertices of neutral colors are never adjacent (their edge would be read in one
of their colors), so moves do not interact.

The result keeps every value exact, but it is no longer a distance-1 (let alone star or
acyclic) coloring: check it with :func:`check_direct_recovery` (star) or by a round trip,
not with :func:`coloring.symmetric._coloring.check_symmetric`.
"""

from __future__ import annotations

import numpy as np

from coloring._errors import ColoringError
from coloring._jit import njit
from coloring.symmetric._graph import SymmetricGraph


@njit(cache=True)
def _relocate_neutral(indptr, indices, colors, ncolors, read_row, read_col):
    """New colors with neutral vertices moved into read colors; ``(colors, k)``."""
    n = indptr.size - 1
    needed = np.zeros(ncolors, np.bool_)
    for t in range(read_col.size):
        needed[read_col[t]] = True
    # reads grouped by row (counting sort)
    rptr = np.zeros(n + 1, np.int64)
    for t in range(read_row.size):
        rptr[read_row[t] + 1] += 1
    for i in range(n):
        rptr[i + 1] += rptr[i]
    fill = rptr[:-1].copy()
    rcol = np.empty(read_row.size, np.int64)
    for t in range(read_row.size):
        r = read_row[t]
        rcol[fill[r]] = read_col[t]
        fill[r] += 1
    new = colors.copy()
    forbidden = np.full(ncolors, -1, np.int64)
    spare = -1
    for u in range(n):
        if needed[colors[u]]:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            r = indices[p]
            for t in range(rptr[r], rptr[r + 1]):
                forbidden[rcol[t]] = u
        c = 0
        while c < ncolors and (not needed[c] or forbidden[c] == u):
            c += 1
        if c == ncolors:
            if spare < 0:
                spare = colors[u]
            c = spare
        new[u] = c
    keep = needed.copy()
    if spare >= 0:
        keep[spare] = True
    colmap = np.full(ncolors, -1, np.int64)
    k = 0
    for c in range(ncolors):
        if keep[c]:
            colmap[c] = k
            k += 1
    for u in range(n):
        new[u] = colmap[new[u]]
    return new, k, colmap


def drop_neutral_colors(plan):
    """Remove the colors that ``plan``'s decompression never reads, in place.

    Parameters
    ----------
    plan : StarPlan or AcyclicPlan
        A plan from :func:`coloring.symmetric._coloring.color_symmetric`.

    Returns
    -------
    StarPlan or AcyclicPlan
        ``plan``, with ``colors``/``ncolors`` replaced by the reduced seed assignment
        (values ``0..ncolors-1``, not a proper coloring any more), its read positions
        renumbered, ``proper_colors`` holding the coloring before, and ``postprocessed``
        set. Unchanged (but flagged) if every color is read.
    """
    if plan.postprocessed or plan.ncolors == 0:
        plan.postprocessed = True
        return plan
    g = plan.graph
    read_row, read_col = plan.read_positions()
    colors, k, colmap = _relocate_neutral(g.indptr, g.indices, plan.colors, plan.ncolors,
                                          read_row, read_col)
    plan.proper_colors = plan.colors
    if k < plan.ncolors:
        plan.recolor(colors, k, colmap)
    plan.postprocessed = True
    return plan


@njit(cache=True)
def _first_unrecoverable(indptr, indices, colors, ncolors):
    """First stored ``(i, j)`` that ``A @ S`` cannot give directly, else ``(-1, -1)``.

    ``A[i, j]`` is alone in ``B[i, colors[j]]`` exactly when no other stored entry of row
    ``i`` has a column of color ``colors[j]``; direct recovery needs this in row ``i`` or,
    by symmetry, in row ``j`` (for the diagonal, in row ``i``).
    """
    n = indptr.size - 1
    count = np.zeros(indices.size, np.int64)
    tally = np.zeros(max(ncolors, 1), np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            tally[colors[indices[p]]] += 1
        for p in range(indptr[i], indptr[i + 1]):
            count[p] = tally[colors[indices[p]]]
        for p in range(indptr[i], indptr[i + 1]):
            tally[colors[indices[p]]] = 0
    mirror_cursor = indptr[:-1].copy()
    mirror = np.full(indices.size, -1, np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j > i:
                q = mirror_cursor[j]
                mirror_cursor[j] = q + 1
                mirror[p] = q
                mirror[q] = p
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if count[p] == 1:
                continue
            if j != i and count[mirror[p]] == 1:
                continue
            return i, j
    return -1, -1


def check_direct_recovery(indptr: np.ndarray, indices: np.ndarray, colors: np.ndarray) -> None:
    """Verify that every stored entry of a symmetric pattern can be read from ``A @ S``.

    This is the property a star plan needs (post-processed or not); for a proper coloring
    it is equivalent to the star property.

    Raises
    ------
    ColoringError
        Naming an entry ``(i, j)`` that shares both ``B[i, colors[j]]`` and
        ``B[j, colors[i]]`` with other entries.
    """
    g = SymmetricGraph(indptr, indices)  # validates symmetry, needed for mirrors
    colors = np.ascontiguousarray(colors, dtype=np.int64)
    if colors.shape != (g.n,) or (g.n and colors.min() < 0):
        raise ColoringError(f"colors must be {g.n} non-negative integers")
    ncolors = int(colors.max()) + 1 if g.n else 0
    i, j = _first_unrecoverable(g.indptr, g.indices, colors, ncolors)
    if i >= 0:
        raise ColoringError(
            f"entry ({i}, {j}) cannot be recovered directly: columns {i} and {j} each share "
            f"their row's color group with another stored entry")
