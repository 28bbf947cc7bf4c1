"""Decompression indices of every coloring problem, in one place.

For a coloring of an ``m x n`` pattern, decompression reads each stored entry of the
output matrix from the compressed products. With batch-first products ``P`` (one row per
color, as a backend returns them: ``(k, m)`` JVPs for column colorings, ``(k, n)`` VJPs
for row colorings, ``(k, n)`` Hessian-vector products for star and acyclic colorings),
entry ``(i, j)`` is read from ``P.ravel()[flat]`` with

============ =============================== ===================================
rule         ``flat``                        ``entry_input`` (seed that moved it)
============ =============================== ===================================
column       ``colors[j] * m + i``           ``j``
row          ``colors[i] * n + j``           ``i``
star, here   ``colors[j] * n + i``           ``j`` (``j`` is the hub, or ``i == j``)
star, there  ``colors[i] * n + j``           ``i`` (read at the mirror ``(j, i)``)
============ =============================== ===================================

The table is written once, as :func:`_mirrored` (which side) and :func:`_flat` (where),
and which entries a triangle keeps as :func:`_kept`: the Numba kernels inline them and
their numpy twin calls them on whole arrays.

(Gebremedhin, Manne and Pothen, "What color is your Jacobian?", SIAM Review 47(4), 2005,
sections 3-4 for direct recovery; star recovery as in Gebremedhin, Tarafdar, Manne and
Pothen, SIAM J. Sci. Comput. 29(3), 2007, section 4.) Acyclic colorings recover the
entries by substitution along the two-colored trees (same paper, section 3):
:func:`peeling_order` computes the solve order once and :func:`substitute` runs it.
Bicolorings read each entry from the JVPs or the VJPs (:func:`read_sides`).

:func:`direct_index` builds, in one pass over the CSR pattern, the output structure of
any format (``"csr"``, ``"csc"``, ``"coo"``) and triangle (``uplo``), the flat index and
the input of every stored value, in the output's order; index arrays are int32 whenever
every index and flat position fits. The result types
(:meth:`coloring.ColoringResult.decompression_index`,
:meth:`coloring.BicoloringResult.decompression_index`) call it and cache the result, and
their ``decompress`` methods read through the same indices. Each kernel has a numpy twin
that small patterns use, so that they compile nothing (:mod:`coloring._small`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._errors import ColoringError
from ._jit import njit
from ._pattern import as_pattern
from ._small import is_small

__all__ = ["FORMATS", "UPLOS", "DecompressionIndex", "SubstitutionOrder", "direct_index",
           "index_dtype", "star_reads_here", "star_reads_from_colors", "other_layout",
           "triangle_positions", "bicolor_sides", "RULES", "star_read_positions",
           "vertex_color_slots", "peeling_order", "substitute", "read_sides",
           "gather_bicolor", "substitute_bicolor"]

FORMATS = ("csr", "csc", "coo")
UPLOS = ("F", "L", "U")

#: How each problem reads an entry (see the module docstring); -1: no flat index.
RULES = {"column": 0, "row": 1, "star": 2, "acyclic": -1, "structure": -1}
_STAR = RULES["star"]
_FORMAT_CODES = {"csr": 0, "csc": 1, "coo": 2}
_UPLO_CODES = {"F": 0, "L": 1, "U": 2}


def index_dtype(*sizes: int) -> type:
    """int32 when every index and flat position fits (below 2**31 - 1), else int64."""
    return np.int32 if max(sizes, default=0) < 2**31 - 1 else np.int64


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.flags.writeable = False
    return a


class SubstitutionOrder(tuple):
    """The solve order of acyclic decompression (:func:`peeling_order`), as the tuple
    ``(read_row, read_col, acc_src, acc_dst, out_a, out_b, diag_pos, diag_row,
    diag_col, nslots)``: step ``t`` reads ``B[read_row[t], read_col[t]]``, subtracts
    ``acc[acc_src[t]]``, adds the value to ``acc[acc_dst[t]]`` and stores it at the
    pattern's CSR positions ``out_a[t]`` and ``out_b[t]``; then each stored diagonal
    entry ``diag_pos`` is ``B[diag_row, diag_col]``."""


@dataclass(frozen=True)
class DecompressionIndex:
    """Where each stored entry of the output matrix is read, in the output's order.

    Attributes
    ----------
    format : {"csr", "csc", "coo"}
    uplo : {"F", "L", "U"}
    shape : tuple of int
        Of the output matrix.
    indptr, indices : numpy.ndarray or None
        csr: row pointers and column indices; csc: column pointers and row indices;
        None for coo. Read-only, int32 where it fits.
    rows, cols : numpy.ndarray or None
        coo only: the coordinates of the stored values (CSR order). Read-only.
    flat_index : numpy.ndarray or None
        Position of each value in the flattened batch-first products (``layout``);
        None for substitution (acyclic, bicolor_substitution).
    entry_input : numpy.ndarray or None
        The seed index that produced each value: the column for column colorings and
        star entries read in their own row, the row otherwise (a finite-difference
        backend divides by that variable's step).
    product_width : int
        Columns of the batch-first products (``m`` column, ``n`` otherwise).
    csr_position : numpy.ndarray or None
        For substitution in csc format: output position -> position in the CSR order of
        the (triangle of the) pattern, where :meth:`decompress` writes. None otherwise
        (csr and coo are in CSR order).
    substitution : callable or None
        Acyclic colorings: ``substitution()`` returns the solve order on the full
        pattern (a :class:`SubstitutionOrder`, built on the first call).
    sides : tuple or None
        Direct bicolorings: ``(("jvp", positions, flat_index, entry_input),
        ("vjp", ...))``, positions in the output's order, flat indices into the
        batch-first JVP products ``(k1, m)`` and VJP products ``(k2, n)``.
    layout : {"batch_first", "C", "F"}
        Of the products ``flat_index`` reads (see
        :meth:`coloring.ColoringResult.decompression_index`).
    """

    format: str
    uplo: str
    shape: tuple[int, int]
    indptr: np.ndarray | None
    indices: np.ndarray | None
    rows: np.ndarray | None
    cols: np.ndarray | None
    flat_index: np.ndarray | None
    entry_input: np.ndarray | None
    product_width: int
    csr_position: np.ndarray | None = None
    substitution: Any = None
    sides: tuple | None = None
    layout: str = "batch_first"

    @property
    def nnz(self) -> int:
        """Stored values of the output matrix."""
        return int((self.indices if self.rows is None else self.rows).size)


def check_format(format: str, uplo: str) -> None:
    """Raise a clear error for an unknown format or triangle."""
    if format not in FORMATS:
        raise ColoringError(f"unknown format {format!r}; use one of {FORMATS}")
    if uplo not in UPLOS:
        raise ColoringError(f"unknown uplo {uplo!r}; use 'F' (full), 'L' (lower) or 'U' "
                            f"(upper triangle)")


# ------------------------------------------------------------------ direct index kernels


# The two rules below are each written once: the Numba kernels inline them per entry, and
# the numpy twin calls the same Python functions (``.py_func``) on whole arrays.


@njit(cache=True, inline="always")
def _kept(i, j, uplo):
    """Whether entry ``(i, j)`` is in the triangle ``uplo`` (0 all, 1 lower, 2 upper);
    scalars or arrays (then True for ``uplo`` 0)."""
    return uplo == 0 or (i >= j if uplo == 1 else i <= j)


@njit(cache=True, inline="always")
def _mirrored(rule, here, p):
    """Whether the entry ``(i, j)`` at CSR position ``p`` was moved by seed ``i`` and is
    read in product row ``j`` (a row coloring; a star entry read at its mirror), rather
    than moved by seed ``j`` and read in row ``i``: the side of the table of the module
    docstring. A scalar, or an array for an array of positions ``p``."""
    return rule == 1 or (rule == 2 and ~here[p])


@njit(cache=True, inline="always")
def _flat(colors, seed, row, width):
    """Position in the flattened batch-first products (``width`` columns) of row ``row``
    of the product of seed ``seed``'s color; scalars or arrays."""
    return colors[seed] * width + row


@njit(cache=True)
def _count_kept(indptr, indices, uplo):
    """Stored entries of the lower (``uplo`` 1) or upper (2) triangle."""
    count = 0
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            if _kept(i, indices[p], uplo):
                count += 1
    return count


@njit(cache=True)
def _row_major_kernel(indptr, indices, width, colors, rule, here, uplo, fmt, out_ptr,
                      out_ind, out_rows, flat, entry):
    """csr (``fmt`` 0) or coo (2) output: the kept entries in CSR order."""
    q = 0
    if fmt == 0:
        out_ptr[0] = 0
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if not _kept(i, j, uplo):
                continue
            out_ind[q] = j
            if fmt == 2:
                out_rows[q] = i
            if rule >= 0:  # (no helper returning both: a tuple makes the loop slower)
                seed = j
                row = i
                if _mirrored(rule, here, p):
                    seed = i
                    row = j
                flat[q] = _flat(colors, seed, row, width)
                entry[q] = seed
            q += 1
        if fmt == 0:
            out_ptr[i + 1] = q


@njit(cache=True)
def _column_major_kernel(indptr, indices, width, colors, rule, here, uplo, out_ptr,
                         out_ind, src, flat, entry):
    """csc output. Positions come from a cursor per column: rows arrive in increasing
    order, so each column's rows end up sorted, with no sort."""
    out_ptr[:] = 0
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if _kept(i, j, uplo):
                out_ptr[j + 1] += 1
    for c in range(out_ptr.size - 1):
        out_ptr[c + 1] += out_ptr[c]
    cursor = out_ptr[:-1].copy()
    q = 0
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if not _kept(i, j, uplo):
                continue
            o = cursor[j]
            cursor[j] = o + 1
            out_ind[o] = i
            if src.size:
                src[o] = q
            if rule >= 0:
                seed = j
                row = i
                if _mirrored(rule, here, p):
                    seed = i
                    row = j
                flat[o] = _flat(colors, seed, row, width)
                entry[o] = seed
            q += 1


def _direct_index_kernel(indptr, indices, width, colors, rule, here, uplo, fmt, out_ptr,
                         out_ind, out_rows, src, flat, entry):
    """One pass over the CSR entries of the kept triangle: the output structure
    (``out_ptr``/``out_ind``, and ``out_rows`` for coo), the CSR position ``src`` of each
    output value (csc, when ``src`` is not empty) and, for ``rule >= 0``, ``flat`` and
    ``entry`` (:func:`_mirrored`, :func:`_flat`; ``width``: of the batch-first products),
    all written at the output position. ``entry`` may be the same array as ``out_ind`` or
    ``out_rows`` where the values coincide. One Numba kernel per memory order, so that a
    csr plan compiles only its own."""
    if fmt == 1:
        _column_major_kernel(indptr, indices, width, colors, rule, here, uplo, out_ptr,
                             out_ind, src, flat, entry)
    else:
        _row_major_kernel(indptr, indices, width, colors, rule, here, uplo, fmt, out_ptr,
                          out_ind, out_rows, flat, entry)


def _direct_index_numpy(indptr, indices, width, colors, rule, here, uplo, fmt, out_ptr,
                        out_ind, out_rows, src, flat, entry):
    """numpy twin of :func:`_direct_index_kernel` (same outputs, same rules)."""
    nrow = indptr.size - 1
    rows = np.repeat(np.arange(nrow, dtype=np.int64), np.diff(indptr))
    cols = np.asarray(indices, dtype=np.int64)
    positions = slice(None)
    if uplo:
        positions = np.flatnonzero(_kept.py_func(rows, cols, uplo))
        rows, cols = rows[positions], cols[positions]
    f = e = None
    if rule >= 0:
        e = np.where(_mirrored.py_func(rule, here, positions), rows, cols)  # the seeds
        f = _flat.py_func(colors, e, rows + cols - e, width)
    if fmt == 1:
        order = np.lexsort((rows, cols))  # column-major, rows sorted within a column
        out_ptr[0] = 0
        np.cumsum(np.bincount(cols, minlength=out_ptr.size - 1), out=out_ptr[1:])
        out_ind[:] = rows[order]
        if src.size:
            src[:] = order
        if f is not None:
            f, e = f[order], e[order]
    else:
        out_ind[:] = cols
        if fmt == 0:
            out_ptr[0] = 0
            np.cumsum(np.bincount(rows, minlength=nrow), out=out_ptr[1:])
        else:
            out_rows[:] = rows
    if f is not None:
        flat[:] = f
        entry[:] = e


def direct_index(indptr: np.ndarray, indices: np.ndarray, shape: tuple[int, int],
                 colors: np.ndarray | None, problem: str, *, format: str = "csr",
                 uplo: str = "F", ncolors: int = 0, here: np.ndarray | None = None,
                 want_csr_position: bool = False) -> DecompressionIndex:
    """The output structure and gather index of a coloring of a canonical CSR pattern.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        CSR structure (sorted, no duplicates) of the colored pattern.
    shape : tuple of int
        ``(m, n)``.
    colors : numpy.ndarray or None
        One color per column (per row for ``problem="row"``); unused for ``"acyclic"``.
    problem : {"column", "row", "star", "acyclic", "structure"}
        Which rule of the module docstring; ``"acyclic"`` and ``"structure"`` build the
        structure only.
    format, uplo : str
        Output format and triangle.
    ncolors : int
        Number of colors (sizes the flat positions' dtype).
    here : numpy.ndarray of bool, optional
        Star colorings: whether each stored entry is read in its own row
        (:func:`star_reads_here` or :func:`star_reads_from_colors`).
    want_csr_position : bool
        Also return, for csc, the CSR position of each output value.

    Returns
    -------
    DecompressionIndex
        Read-only arrays in the output's order.
    """
    check_format(format, uplo)
    m, n = shape
    rule = RULES[problem]
    fmt, up = _FORMAT_CODES[format], _UPLO_CODES[uplo]
    if up and m != n:
        raise ColoringError(f"uplo={uplo!r} needs a square matrix, got shape {shape}")
    pw = m if problem == "column" else n
    nnz_in = int(indices.size)
    small = is_small(nnz_in, _column_major_kernel if fmt == 1 else _row_major_kernel)
    nnz = (nnz_in if not up else
           int(np.count_nonzero(_triangle_mask(indptr, indices, up))) if small
           else int(_count_kept(indptr, indices, up)))
    idt = index_dtype(m + 1, n + 1, nnz + 1, max(ncolors, 1) * pw)
    out_ptr = np.empty((n if fmt == 1 else m) + 1 if fmt != 2 else 0, idt)
    out_ind = np.empty(nnz, idt)
    out_rows = np.empty(nnz if fmt == 2 else 0, idt)
    src = np.empty(nnz if (fmt == 1 and want_csr_position) else 0, idt)
    flat = entry = None
    if rule >= 0:
        flat = np.empty(nnz, idt)
        # the input of each value coincides with a structure array in these cases
        if rule == 0 and fmt != 1:
            entry = out_ind
        elif rule == 1 and fmt == 1:
            entry = out_ind
        elif rule == 1 and fmt == 2:
            entry = out_rows
        else:
            entry = np.empty(nnz, idt)
    col = np.ascontiguousarray(colors if colors is not None else np.zeros(0), np.int64)
    h = here if here is not None else np.zeros(0, np.bool_)
    run = _direct_index_numpy if small else _direct_index_kernel
    empty = np.empty(0, idt)
    run(indptr, indices, pw, col, rule, h, up, fmt, out_ptr, out_ind, out_rows, src,
        empty if flat is None else flat, empty if entry is None else entry)
    return DecompressionIndex(
        format, uplo, (m, n),
        _frozen(out_ptr) if fmt != 2 else None, _frozen(out_ind) if fmt != 2 else None,
        _frozen(out_rows) if fmt == 2 else None, _frozen(out_ind) if fmt == 2 else None,
        _frozen(flat), _frozen(entry), pw, _frozen(src) if src.size else None)


def pattern_arrays(pattern: Any, colored: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """CSR ``(indptr, indices)`` of ``pattern`` (canonical) and whether it is the colored
    pattern ``colored`` (None: it is; shared index arrays: no comparison needed)."""
    if pattern is None or pattern is colored or (
            sp.issparse(pattern) and pattern.format == "csr"
            and pattern.indices is colored.indices and pattern.indptr is colored.indptr):
        return colored.indptr, colored.indices, True
    if not (sp.issparse(pattern) and pattern.format == "csr"
            and pattern.has_canonical_format):
        pattern = as_pattern(pattern)
    if pattern.shape != colored.shape:
        raise ColoringError(f"pattern has shape {pattern.shape}, but the coloring is of "
                            f"shape {colored.shape}")
    if (np.array_equal(pattern.indptr, colored.indptr)
            and np.array_equal(pattern.indices, colored.indices)):
        return colored.indptr, colored.indices, True
    return pattern.indptr, pattern.indices, False


def _triangle_mask(indptr, indices, up):
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    return _kept.py_func(rows, indices, up)


def triangle_positions(indptr: np.ndarray, indices: np.ndarray, uplo: str) -> np.ndarray:
    """CSR positions of the entries of the ``uplo`` triangle (``"F"``: all), increasing."""
    if uplo == "F":
        return np.arange(indices.size, dtype=index_dtype(indices.size + 1))
    pos = np.flatnonzero(_triangle_mask(indptr, indices, _UPLO_CODES[uplo]))
    return pos.astype(index_dtype(indices.size + 1))


def other_layout(index: DecompressionIndex, ncolors: int, layout: str) -> DecompressionIndex:
    """The same index into the products of the other memory layout.

    Batch-first products ``(k, w)`` hold ``(c, r)`` at ``c * w + r``; their transpose,
    C-ordered ``(w, k)``, holds it at ``r * k + c`` (``w``: the product width).
    """
    if index.flat_index is None:
        return replace(index, layout=layout)
    w = index.product_width
    flat = index.flat_index.astype(np.int64)
    moved = (flat % w) * max(ncolors, 1) + flat // w
    return replace(index, flat_index=_frozen(moved.astype(index.flat_index.dtype)),
                   layout=layout)


# ------------------------------------------------------------------------ star reads


@njit(cache=True)
def star_reads_here(indptr, indices, edge_of_pos, star_of_edge, hub):
    """``here[p]``: whether entry ``p = (i, j)`` is read in its own row ``i`` of ``B``,
    i.e. ``j`` is the hub of the entry's star, or ``i == j`` (a star plan's hubs,
    :class:`coloring.symmetric._star.StarPlan`)."""
    here = np.zeros(indices.size, np.bool_)
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            here[p] = j == i or hub[star_of_edge[edge_of_pos[p]]] == j
    return here


def star_reads_from_colors(indptr: np.ndarray, indices: np.ndarray,
                           colors: np.ndarray) -> np.ndarray:
    """Where a star coloring given by its colors alone reads each entry.

    Entry ``(i, j)`` is read in row ``i`` when ``j`` is the only column of row ``i`` with
    color ``colors[j]``; otherwise, by the star property, in row ``j`` (alone there with
    ``colors[i]``). Returns ``here`` as in :func:`direct_index`.

    Raises
    ------
    ColoringError
        If some entry can be read in neither row (not a star coloring of this pattern,
        or the pattern is not symmetric).
    """
    n = indptr.size - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    cols = np.asarray(indices, dtype=np.int64)
    colors = np.asarray(colors, dtype=np.int64)
    k = int(colors.max()) + 1 if colors.size else 1
    _, inverse, counts = np.unique(rows * k + colors[cols], return_inverse=True,
                                   return_counts=True)
    alone = counts[inverse] == 1
    # the mirror (j, i) of each entry: the CSC order of a symmetric pattern is its CSR order
    order = np.lexsort((rows, cols))
    symmetric = np.array_equal(rows[order], cols) and np.array_equal(cols[order], rows)
    there = np.zeros_like(alone)
    if symmetric:
        mirror = np.empty_like(order)
        mirror[order] = np.arange(order.size)
        there = alone[mirror]
    bad = np.flatnonzero(~(alone | there))
    if bad.size:
        p = int(bad[0])
        raise ColoringError(f"entry ({rows[p]}, {cols[p]}) cannot be read directly from "
                            f"the products: not a star coloring of this (symmetric) pattern")
    return alone


@njit(cache=True)
def star_read_positions(indptr, indices, here, colors):
    """Row and color of ``B = A @ S`` (``(n, ncolors)``) that a star coloring reads each
    stored entry from, in CSR order (:func:`_mirrored`; ``here`` from
    :func:`star_reads_here`)."""
    n = indptr.size - 1
    row = np.empty(indices.size, np.int64)
    color = np.empty(indices.size, np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            seed = indices[p]
            row[p] = i
            if _mirrored(_STAR, here, p):
                seed = i
                row[p] = indices[p]
            color[p] = colors[seed]
    return row, color


# ------------------------------------------------------------------------------ bicolor


def bicolor_sides(from_row: np.ndarray, bi: np.ndarray, bj: np.ndarray,
                  shape: tuple[int, int], output_position: np.ndarray | None,
                  idt: type) -> tuple:
    """Per side (JVPs, VJPs) of a direct bicoloring: output positions, flat indices into
    the batch-first products and inputs (see :class:`DecompressionIndex`).

    ``from_row``, ``bi``, ``bj`` (:func:`read_sides`) are in the pattern's CSR order;
    ``output_position`` maps a CSR position to the output's (None: the same).
    """
    m, n = shape
    rows = np.flatnonzero(from_row)
    cols = np.flatnonzero(~from_row)
    sides = []
    for kind, pos, flat, entry in (("jvp", cols, bj[cols] * m + bi[cols], bj[cols]),
                                   ("vjp", rows, bi[rows] * n + bj[rows], bi[rows])):
        if output_position is not None:
            pos = output_position[pos]
        sides.append((kind, _frozen(pos.astype(idt)), _frozen(flat.astype(idt)),
                      _frozen(entry.astype(idt))))
    return tuple(sides)


# ---------------------------------------------------- kernels moved from the plan types


@njit(cache=True)
def vertex_color_slots(indptr, indices, color):
    """Number the pairs (vertex ``i``, neighbor color ``c``): ``slot_of_pos[p]`` for each
    off-diagonal stored entry (-1 on the diagonal), and the slot count.

    The edges of slot ``(i, c)`` are exactly the edges of ``i`` in one two-colored tree.
    """
    n = indptr.size - 1
    slot_of_pos = np.full(indices.size, -1, np.int64)
    last_row = np.full(n + 1, -1, np.int64)
    slot_id = np.empty(n + 1, np.int64)
    nslots = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j == i:
                continue
            c = color[j]
            if last_row[c] != i:
                last_row[c] = i
                slot_id[c] = nslots
                nslots += 1
            slot_of_pos[p] = slot_id[c]
    return slot_of_pos, nslots


@njit(cache=True)
def peeling_order(indptr, indices, edge_u, edge_v, pos_u, pos_v, color, slot_of_pos,
                  nslots):
    """Order the edges of the two-colored forest from leaves inward.

    Returns ``(read_row, read_col, acc_src, acc_dst, out_a, out_b, ndone, diag_pos)``:
    step ``k`` reads ``B[read_row[k], read_col[k]] - acc[acc_src[k]]``, adds it to
    ``acc[acc_dst[k]]`` and stores it at positions ``out_a[k]`` and ``out_b[k]``. Fewer
    than ``nedges`` steps (``ndone``) means a two-colored cycle: not acyclic.
    """
    nedges = edge_u.size
    deg = np.zeros(nslots, np.int64)
    xor = np.zeros(nslots, np.int64)  # xor of the slot's remaining edge ids
    for e in range(nedges):
        a = slot_of_pos[pos_u[e]]
        b = slot_of_pos[pos_v[e]]
        deg[a] += 1
        deg[b] += 1
        xor[a] ^= e
        xor[b] ^= e
    stack = np.empty(nslots + 1, np.int64)  # each slot is queued at most once
    top = 0
    for s in range(nslots):
        if deg[s] == 1:
            stack[top] = s
            top += 1
    # vertex of each slot: needed to tell which end of the popped edge is the leaf
    slot_vertex = np.empty(nslots, np.int64)
    n = indptr.size - 1
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if slot_of_pos[p] >= 0:
                slot_vertex[slot_of_pos[p]] = i
    read_row = np.empty(nedges, np.int64)
    read_col = np.empty(nedges, np.int64)
    acc_src = np.empty(nedges, np.int64)
    acc_dst = np.empty(nedges, np.int64)
    out_a = np.empty(nedges, np.int64)
    out_b = np.empty(nedges, np.int64)
    ncolors = 0
    for i in range(n):
        ncolors = max(ncolors, color[i] + 1)
    used = np.zeros(ncolors + 1, np.bool_)  # colors read so far (diagonal ones first)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] == i:
                used[color[i]] = True
    k = 0
    head = 0  # first-in first-out: initial leaves in row order keep B reads local
    while head < top:
        s = stack[head]
        head += 1
        if deg[s] != 1:
            continue  # the other end of a lone edge, already peeled
        e = xor[s]
        i = slot_vertex[s]
        if edge_u[e] == i:
            j = edge_v[e]
            t = slot_of_pos[pos_v[e]]
        else:
            j = edge_u[e]
            t = slot_of_pos[pos_u[e]]
        if deg[t] == 1 and not used[color[j]] and used[color[i]]:
            # the last edge of a tree can be read at either end: prefer a color that is
            # read anyway, so that fewer colors are needed (post-processing)
            i, j, s, t = j, i, t, s
        used[color[j]] = True
        read_row[k] = i
        read_col[k] = color[j]
        acc_src[k] = s
        acc_dst[k] = t
        out_a[k] = pos_u[e]
        out_b[k] = pos_v[e]
        k += 1
        deg[s] = 0
        deg[t] -= 1
        xor[t] ^= e
        if deg[t] == 1:
            stack[top] = t
            top += 1
    ndiag = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] == i:
                ndiag += 1
    diag_pos = np.empty(ndiag, np.int64)
    diag_row = np.empty(ndiag, np.int64)
    m = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] == i:
                diag_pos[m] = p
                diag_row[m] = i
                m += 1
    return read_row, read_col, acc_src, acc_dst, out_a, out_b, k, diag_pos, diag_row


@njit(cache=True)
def substitute(B, read_row, read_col, acc_src, acc_dst, out_a, out_b, diag_pos,
                diag_row, diag_col, acc, out):
    """Recover the stored entries from ``B`` by substitution along the peeling order."""
    acc[:] = 0.0
    for k in range(read_row.size):
        val = B[read_row[k], read_col[k]] - acc[acc_src[k]]
        acc[acc_dst[k]] += val
        out[out_a[k]] = val
        out[out_b[k]] = val
    for m in range(diag_pos.size):
        out[diag_pos[m]] = B[diag_row[m], diag_col[m]]


@njit(cache=True)
def read_sides(read_vertex, read_color, color_map, m):
    """For each read: from the row products (VJPs)?, and its (row, column) in that B."""
    r = read_vertex.size
    from_row = np.zeros(r, np.bool_)
    bi = np.empty(r, np.int64)
    bj = np.empty(r, np.int64)
    for t in range(r):
        v = read_vertex[t]
        c = color_map[read_color[t]]
        if v < m:  # row vertex i reads (A @ S_col)[i, c]
            bi[t] = v
            bj[t] = c
        else:  # column vertex j reads (S_row.T @ A)[c, j]
            from_row[t] = True
            bi[t] = c
            bj[t] = v - m
    return from_row, bi, bj


@njit(cache=True)
def gather_bicolor(B_col, B_row, from_row, bi, bj, out):
    """Direct recovery: ``out[p]`` from ``B_row[bi, bj]`` or ``B_col[bi, bj]``."""
    for p in range(out.size):
        if from_row[p]:
            out[p] = B_row[bi[p], bj[p]]
        else:
            out[p] = B_col[bi[p], bj[p]]


@njit(cache=True)
def substitute_bicolor(B_col, B_row, from_row, bi, bj, acc_src, acc_dst, out_pos, acc, out):
    """Recovery by substitution along the peeling order of the two-colored trees."""
    acc[:] = 0.0
    for k in range(out_pos.size):
        if from_row[k]:
            b = B_row[bi[k], bj[k]]
        else:
            b = B_col[bi[k], bj[k]]
        val = b - acc[acc_src[k]]
        acc[acc_dst[k]] += val
        out[out_pos[k]] = val
