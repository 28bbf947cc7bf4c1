"""Coloring choice and the precomputed decompression plan of a prepared derivative.

A plan holds everything that does not depend on x: the 0/1 seed matrix (batch-first,
``(ncolors, width)``), and for every stored value of the output matrix, in the output
format's order, the flat position in the batch-first product matrix to read it from
(``flat_index``) and the input variable whose seed produced it (``entry_input``, used by
finite differences to divide by the per-variable step). Direct decompression is then a
single gather, which a compiling backend can fuse into its products.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

import coloring as _coloring
from coloring._matrices import SharedStructureCSC, SharedStructureCSR

from ._errors import SparseADError
from ._kernels import flat_index_kernel

#: Orders tried by default for Hessians (star/acyclic), keeping the fewest colors (see
#: :func:`coloring.color`).
DEFAULT_ORDERS: tuple[str, ...] = _coloring.BEST_ORDERS

#: Orders tried by default for Jacobians (column and row side). The improvement pass
#: (Culberson's iterated greedy) started from largest-first matches the best of all
#: orders on the Brusselator (10 colors, N = 8..128) at about a quarter of the time: the
#: other orders cost 4-6x largest-first each and the improvement erases their advantage.
JACOBIAN_DEFAULT_ORDERS: tuple[str, ...] = ("largest_first",)

#: Default options of :func:`coloring.color`: the orders are tried on each side (column,
#: row), then up to 20 passes of the improvement (Culberson's iterated greedy) run on the
#: winner only (Hessians default to no improvement: star/acyclic passes cost more). On the
#: Brusselator that gives 10 colors (9 for some N) for every N from 8 to 2236. The passes
#: have a budget counted in adjacency entries visited, not in seconds (``effort``: at
#: most as much work as the order itself, and at least ``coloring.IMPROVE_MIN_WORK``), so
#: the result is deterministic on any machine and the coloring stays linear in the
#: pattern's size; small patterns get all 20 passes. ``coloring={"improve": 0}`` is
#: cheapest, ``coloring={"effort": 4.0}`` searches longer on large patterns.
DEFAULT_COLORING_OPTIONS: dict[str, Any] = {"order": DEFAULT_ORDERS, "improve": 20,
                                            "effort": 1.0, "seed": 1}

FORMATS = ("csr", "csc", "coo")
UPLOS = ("F", "L", "U")


def coloring_options(coloring: Any, default_order: Any = DEFAULT_ORDERS,
                     default_improve: int = DEFAULT_COLORING_OPTIONS["improve"]
                     ) -> dict[str, Any]:
    """Normalize the ``coloring=`` argument (None, order name, tuple of orders, dict);
    ``default_order`` and ``default_improve`` apply where it names none."""
    defaults = {**DEFAULT_COLORING_OPTIONS, "order": default_order, "improve": default_improve}
    if coloring is None:
        return defaults
    if isinstance(coloring, str) or (isinstance(coloring, tuple)
                                     and all(isinstance(o, str) for o in coloring)):
        return {**defaults, "order": coloring}
    if isinstance(coloring, Mapping):
        return {**defaults, **coloring}
    raise TypeError(f"coloring= takes a coloring.ColoringResult, an order name, a tuple of "
                    f"order names or a dict of coloring.color options, not "
                    f"{type(coloring).__name__}")


def run_coloring(pattern: sp.csr_array, problem: str, options: dict[str, Any]):
    """Call :func:`coloring.color` with the normalized options for ``problem``."""
    opts = {k: v for k, v in options.items() if k != "problem"}
    return _coloring.color(pattern, problem, **opts)


def check_given_coloring(result: Any, pattern: sp.csr_array, allowed: tuple[str, ...]) -> None:
    """Validate a user-supplied ColoringResult against the pattern (clear errors)."""
    problem = getattr(result, "problem", None)
    if problem not in allowed:
        raise SparseADError(f"coloring has problem={problem!r}, but this derivative needs "
                            f"one of {allowed}")
    colors = np.asarray(result.colors)
    expected = pattern.shape[0] if problem == "row" else pattern.shape[1]
    if colors.shape != (expected,):
        raise SparseADError(f"coloring has {colors.size} colors but the pattern of shape "
                            f"{pattern.shape} needs {expected} ({problem} coloring)")
    try:
        _coloring.check(pattern, result)
    except _coloring.ColoringError as exc:
        raise SparseADError(f"the given coloring is not valid for this sparsity pattern: "
                            f"{exc}") from exc


def _csr_coords(P: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    return rows, np.asarray(P.indices, dtype=np.int64)


def star_flat_index(rows, cols, colors, n):
    """Direct-decompression index of a star (or distance-2) coloring, computed here.

    Entry ``(i, j)`` is ``(H S)[i, color[j]]`` when ``j`` is the only column of row ``i``
    with color ``color[j]``; otherwise, by the star property, ``(H S)[j, color[i]]``.
    Returns the flat index into batch-first products ``(k, n)`` and the input index.
    """
    k = int(colors.max()) + 1 if colors.size else 0
    key = rows * max(k, 1) + colors[cols]
    counts = np.bincount(key, minlength=n * max(k, 1))
    unique_here = counts[key] == 1
    key_t = cols * max(k, 1) + colors[rows]
    unique_there = counts[key_t] == 1
    if not np.all(unique_here | unique_there):
        bad = int(np.flatnonzero(~(unique_here | unique_there))[0])
        raise SparseADError(f"coloring is not a star coloring: entry ({rows[bad]}, "
                            f"{cols[bad]}) cannot be read directly from the products")
    flat = np.where(unique_here, colors[cols] * n + rows, colors[rows] * n + cols)
    entry_input = np.where(unique_here, cols, rows)
    return flat.astype(np.int64), entry_input.astype(np.int64)


class SeedColumns:
    """The 0/1 seed rows of colors ``start..stop-1`` as the variables of each color.

    What the finite-difference backend needs (``columns[c]``: the inputs moved by
    color ``c``) without the dense ``(k, n)`` matrix; ``shape`` and ``dtype`` are those
    of the dense seeds, which ``numpy.asarray`` builds if someone asks.
    """

    def __init__(self, columns: list[np.ndarray], width: int, dtype: Any) -> None:
        self.columns = columns
        self.shape = (len(columns), int(width))
        self.dtype = np.dtype(dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        S = np.zeros(self.shape, dtype=self.dtype if dtype is None else dtype)
        for c, cols in enumerate(self.columns):
            S[c, cols] = 1
        return S


def _columns_by_color(colors: np.ndarray, start: int, stop: int) -> list[np.ndarray]:
    """Inputs of each color ``start..stop-1``, increasing (one stable sort, int32/64)."""
    idt = np.int32 if colors.size < 2**31 - 1 else np.int64
    order = np.argsort(colors, kind="stable").astype(idt)
    bounds = np.searchsorted(colors[order], np.arange(start, stop + 1))
    return [_frozen(order[bounds[c]:bounds[c + 1]]) for c in range(stop - start)]


@dataclass
class Chunk:
    """Seeds ``seeds[start:stop]`` and where their products land in the output data.

    The dense seed rows are built on first use (``seeds``) from the colors when the
    plan was made without them; ``seed_columns`` gives the same seeds as index lists.
    """

    start: int
    stop: int
    _seeds: np.ndarray | None      # seeds[start:stop] as its own C-contiguous array
    positions: np.ndarray | None   # output positions filled by this chunk (None: all)
    flat_index: np.ndarray         # into the chunk's (stop-start, width) products
    entry_input: np.ndarray
    colors: np.ndarray | None = None  # color of every seed column (lazy seeds)
    width: int = 0
    dtype: Any = None
    _columns: SeedColumns | None = field(default=None, repr=False)

    @property
    def seeds(self) -> np.ndarray:
        """The chunk's dense, read-only 0/1 seed rows ``(stop - start, width)``."""
        if self._seeds is None:
            self._seeds = _frozen(np.asarray(self.seed_columns))
        return self._seeds

    @property
    def seed_columns(self) -> SeedColumns:
        """The same seeds as the inputs of each color (no dense matrix)."""
        if self._columns is None:
            if self.colors is not None:
                cols = _columns_by_color(self.colors, self.start, self.stop)
            else:
                cols = [_frozen(np.flatnonzero(row)) for row in self._seeds]
            self._columns = SeedColumns(cols, self.width or self._seeds.shape[1],
                                        self.dtype or self._seeds.dtype)
        return self._columns
    kind: str | None = None        # "jvp"/"vjp" in a bidirectional plan (None: the plan's)


@dataclass
class Plan:
    """Precomputed decompression of one prepared derivative (see module docstring)."""

    problem: str                   # "column", "row", "star", "acyclic", "bidirectional"
    shape: tuple[int, int]         # of the output matrix
    width: int                     # seed length (n for column/star/acyclic, m for row)
    product_width: int             # columns of the batch-first products
    _seeds: np.ndarray | None      # (ncolors, width), C-contiguous; None: built on first use
    format: str
    rows: np.ndarray               # coordinates of the stored values, in output order
    cols: np.ndarray
    indices: np.ndarray | None     # csr/csc index arrays (None for coo)
    indptr: np.ndarray | None
    flat_index: np.ndarray | None  # None: substitution (acyclic)
    entry_input: np.ndarray | None
    csr_order: np.ndarray | None   # output position -> position in CSR order (None: same)
    chunks: list[Chunk] = field(default_factory=list)
    _template: Any = field(default=None, repr=False)
    row_seeds: np.ndarray | None = None  # bidirectional: the VJP seeds (k2, m); seeds: JVPs

    ncolors: int = -1
    dtype: Any = None              # of the values (and of the seeds)

    def __post_init__(self) -> None:
        # rows/cols of a csr plan are derived on first use (see coordinates)
        self._nnz = int(self.indices.size if self.rows is None else self.rows.size)
        if self._seeds is not None:
            self.ncolors, self.dtype = int(self._seeds.shape[0]), self._seeds.dtype
        if self.row_seeds is not None:  # bidirectional: the JVPs plus the VJPs
            self.ncolors += int(self.row_seeds.shape[0])

    @property
    def seeds(self) -> np.ndarray:
        """The dense read-only 0/1 seed matrix ``(ncolors, width)``, built on first use
        for a plan made from colors (the fd backend never needs it)."""
        if self._seeds is None:
            whole = [c for c in self.chunks if c.start == 0 and c.stop == self.ncolors]
            self._seeds = (whole[0].seeds if whole else
                           np.concatenate([c.seeds for c in self.chunks]) if self.chunks
                           else np.zeros((self.ncolors, self.width), self.dtype))
            _frozen(self._seeds)
        return self._seeds

    @property
    def nnz(self) -> int:
        return self._nnz

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)`` of the stored values in output order (read-only).

        A csr plan holds only ``indptr``/``indices``; the coordinates are expanded from
        them when first asked for (by ``structure()``), not at preparation.
        """
        if self.rows is None:
            rows = np.repeat(np.arange(self.shape[0], dtype=self.indices.dtype),
                             np.diff(self.indptr))
            self.rows, self.cols = _frozen(rows), self.indices
        return self.rows, self.cols

    def new_matrix(self, data: np.ndarray):
        """A scipy sparse array of this plan's format holding ``data`` (no copy).

        Every matrix shares the plan's read-only index arrays (see
        :class:`SharedStructureCSR`) and is a shallow copy of a template built once:
        5x cheaper than scipy's constructor, which re-validates the structure.
        """
        template = self._template
        if template is None:
            template = self._template = self._build_template(data)
        M = copy.copy(template)
        M.data = data
        return M

    def _build_template(self, data: np.ndarray):
        m, n = self.shape
        if self.format == "coo":
            M = sp.coo_array((data, self.coordinates()), shape=(m, n))
            M.coords = tuple(_frozen(np.array(c)) for c in M.coords)
            _ = M.has_canonical_format  # cached in the template, and so in every copy
            return M
        cls = SharedStructureCSR if self.format == "csr" else SharedStructureCSC
        M = cls((data, self.indices, self.indptr), shape=(m, n))
        M.indices, M.indptr = self.indices, self.indptr  # frozen in build_plan
        _ = M.has_sorted_indices, M.has_canonical_format  # computed once, then copied
        return M

    def check_out(self, out: Any, dtype: np.dtype) -> None:
        """Raise a clear error unless ``out`` was made by this plan (same structure, dtype)."""
        if not sp.issparse(out):
            raise SparseADError(f"out must be a scipy.sparse matrix returned by an earlier "
                                f"call, got {type(out).__name__}")
        if out.format != self.format:
            raise SparseADError(f"out is a {out.format} matrix, but this derivative was "
                                f"prepared with format={self.format!r}")
        if out.shape != self.shape:
            raise SparseADError(f"out has shape {out.shape}, expected {self.shape}")
        if out.data.shape != (self.nnz,):
            raise SparseADError(f"out stores {out.data.size} values, expected {self.nnz} "
                                f"(the prepared pattern); pass a matrix from an earlier call")
        if self.format == "coo":
            r, c = out.coords
            rows, cols = self.coordinates()
            same = (r is rows and c is cols) or (
                np.array_equal(r, rows) and np.array_equal(c, cols))
        else:
            same = (out.indices is self.indices and out.indptr is self.indptr) or (
                np.array_equal(out.indices, self.indices)
                and np.array_equal(out.indptr, self.indptr))
        if not same:
            raise SparseADError("out does not have the prepared sparsity structure; pass a "
                                "matrix returned by an earlier call of this prepared object")
        if out.data.dtype != dtype:
            raise SparseADError(f"out.data has dtype {out.data.dtype}, but the values are "
                                f"{dtype}")
        if not out.data.flags.writeable or not out.data.flags.c_contiguous:
            raise SparseADError("out.data must be a writeable contiguous array")


def _output_structure(P: sp.csr_array, fmt: str):
    """Coordinates in the output order, index arrays, and the map to CSR order.

    The index arrays have the dtype scipy itself would pick (int32 whenever it can hold
    every index), so building each new matrix neither scans nor converts them.
    """
    rows, cols = _csr_coords(P)
    m, n = P.shape
    index_dtype = np.int32 if max(m, n, rows.size) < 2**31 - 1 else np.int64
    if fmt == "csr":
        return (rows, cols, np.asarray(P.indices, index_dtype),
                np.asarray(P.indptr, index_dtype), None)
    if fmt == "coo":
        return rows, cols, None, None, None
    order = np.lexsort((rows, cols))  # column-major, rows sorted within a column
    rows_c, cols_c = rows[order], cols[order]
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(np.bincount(cols_c, minlength=n), out=indptr[1:])
    return rows_c, cols_c, rows_c.astype(index_dtype), indptr, order


def _triangle(P: sp.csr_array, uplo: str) -> tuple[sp.csr_array, np.ndarray | None]:
    """The ``uplo`` triangle of the pattern and positions of its entries in P's CSR order."""
    if uplo == "F":
        return P, None
    rows, cols = _csr_coords(P)
    keep = rows >= cols if uplo == "L" else rows <= cols
    pos = np.flatnonzero(keep)
    T = sp.csr_array((np.ones(pos.size, bool), (rows[pos], cols[pos])), shape=P.shape)
    T.sort_indices()
    return T, pos


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    """``a`` made read-only in place: the JAX backend compiles seeds and gather indices in
    as constants, cached by identity, so an edit must raise rather than go stale."""
    if a is not None:
        a.setflags(write=False)
    return a


def _chunks(seeds, flat_index, entry_input, ncolors, pw, chunk_size, colors=None,
            width=0, dtype=None):
    """Split the seeds; each chunk keeps its own seed array so that a backend caching
    compiled products by seed identity (JAX) sees the same object on every call.
    With ``seeds`` None the chunks build their seeds from ``colors`` when first asked."""
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise SparseADError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    lazy = {"colors": colors, "width": width, "dtype": dtype}
    if flat_index is None or chunk_size is None or chunk_size >= ncolors or ncolors == 0:
        return [Chunk(0, ncolors, seeds, None, flat_index, entry_input, **lazy)]
    color_of = flat_index // pw
    out = []
    for start in range(0, ncolors, chunk_size):
        stop = min(start + chunk_size, ncolors)
        pos = np.flatnonzero((color_of >= start) & (color_of < stop))
        out.append(Chunk(start, stop,
                         None if seeds is None else _frozen(np.array(seeds[start:stop])),
                         _frozen(pos),
                         _frozen(np.ascontiguousarray(flat_index[pos] - start * pw)),
                         _frozen(np.ascontiguousarray(entry_input[pos])), **lazy))
    return out


def _coloring_index(result, P, rows, cols, pw):
    """The coloring package's precomputed gather index into batch-first products (CSR
    order of P) and the input index of every value, or (None, None) when the result has
    none (acyclic, another pattern, an older coloring package).

    Value ``e`` is read from product row ``idx // pw`` at position ``r = idx % pw``. For
    column colorings the input is the column; for row colorings the output row; for
    star colorings ``(i, j)`` read at position ``i`` came from input ``j``, else from
    input ``i`` (the symmetric entry).
    """
    get = getattr(result, "decompression_index", None)
    pattern = getattr(result, "pattern", None)
    if get is None or pattern is None or pattern.shape != P.shape:
        return None, None
    if not (np.array_equal(pattern.indptr, P.indptr)
            and np.array_equal(pattern.indices, P.indices)):
        return None, None
    idx = get("batch_first", "F")
    if idx is None:
        return None, None
    idx = np.array(idx, dtype=np.int64)  # our own copy: it is made read-only below
    if result.problem == "column":
        entry = cols
    elif result.problem == "row":
        entry = rows
    else:
        entry = np.where(idx % pw == rows, cols, rows)
    return idx, entry


def _bidirectional_plan(P: sp.csr_array, result: Any, fmt: str, dtype: Any,
                        chunk_size: int | None) -> Plan:
    """Plan of a bicoloring: JVP chunks and VJP chunks, each filling its own positions.

    The coloring package gives, per side, the CSR positions it recovers and the gather
    index into that side's batch-first products (:meth:`BicoloringResult.decompression_index`);
    here they are moved to the output format's order and split into chunks. A bicoloring
    by substitution has no gather index: no chunks, the Jacobian decompresses through
    ``result.decompress`` instead.
    """
    m, n = P.shape
    V, W = result.seed_matrices(dtype=dtype)
    if P.nnz == 0:
        V, W = V[:0], W[:0]
    rows, cols = _csr_coords(P)
    rows_o, cols_o, indices, indptr, order = _output_structure(P, fmt)
    chunks: list[Chunk] = []
    index = result.decompression_index() if P.nnz else None
    if index is not None:
        out_pos = np.arange(P.nnz, dtype=np.int64)  # CSR position -> output position
        if order is not None:
            out_pos[order] = np.arange(P.nnz, dtype=np.int64)
        pos_c, idx_c, pos_r, idx_r = index
        for kind, S, pos, idx, entry, pw in (("jvp", V, pos_c, idx_c, cols, m),
                                             ("vjp", W, pos_r, idx_r, rows, n)):
            if S.shape[0] == 0:
                continue
            _frozen(S)
            for c in _chunks(S, np.array(idx, dtype=np.int64), entry[pos], S.shape[0], pw,
                             chunk_size):
                where = pos if c.positions is None else pos[c.positions]
                c.positions = _frozen(np.ascontiguousarray(out_pos[where]))
                c.flat_index, c.entry_input = _frozen(c.flat_index), _frozen(c.entry_input)
                c.kind = kind
                chunks.append(c)
    elif chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                     or chunk_size < 1):
        raise SparseADError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    rows_o, cols_o, indices, indptr = (None if a is None else _frozen(np.array(a))
                                       for a in (rows_o, cols_o, indices, indptr))
    plan = Plan("bidirectional", (m, n), n, m, _frozen(V), fmt, rows_o, cols_o, indices,
                indptr, None, None, order, row_seeds=_frozen(W))
    plan.chunks = chunks
    return plan


def build_plan(pattern: sp.csr_array, result: Any, *, fmt: str, uplo: str = "F",
               dtype: Any = np.float64, chunk_size: int | None = None) -> Plan:
    """Precompute seeds and gather indices for ``result``, a coloring of ``pattern``."""
    if fmt not in FORMATS:
        raise SparseADError(f"unknown format {fmt!r}; use one of {FORMATS}")
    if hasattr(result, "row_colors"):  # a bicoloring: JVPs and VJPs
        P = sp.csr_array(pattern)
        P.sum_duplicates()
        P.sort_indices()
        return _bidirectional_plan(P, result, fmt, dtype, chunk_size)
    if uplo not in UPLOS:
        raise SparseADError(f"unknown uplo {uplo!r}; use 'F' (full), 'L' (lower) or 'U' "
                            f"(upper triangle)")
    problem = result.problem
    m, n = pattern.shape
    colors = np.asarray(result.colors, dtype=np.int64)
    k = int(result.ncolors)
    if pattern.nnz == 0:  # nothing to compute: no products at all (f is still evaluated)
        k = 0
    width = m if problem == "row" else n
    pw = n if problem in ("row", "star", "acyclic") else m
    if problem in ("column", "row") and fmt == "csr" and uplo == "F":
        return _column_row_csr_plan(pattern, problem, colors, k, width, pw, dtype, chunk_size)
    seeds = np.zeros((k, width), dtype=dtype)
    if k:
        seeds[colors, np.arange(width)] = 1

    P = sp.csr_array(pattern)
    P.sum_duplicates()
    P.sort_indices()
    rows, cols = _csr_coords(P)
    flat, entry = _coloring_index(result, P, rows, cols, pw)
    if flat is not None or problem == "acyclic":
        pass
    elif problem == "column":
        flat, entry = colors[cols] * m + rows, cols
    elif problem == "row":
        flat, entry = colors[rows] * n + cols, rows
    else:  # star, with a coloring object that has no precomputed index
        flat, entry = star_flat_index(rows, cols, colors, n)
    T, tri_pos = _triangle(P, uplo)
    if tri_pos is not None and flat is not None:
        flat, entry = flat[tri_pos], entry[tri_pos]
    rows_o, cols_o, indices, indptr, order = _output_structure(T, fmt)
    if order is not None and flat is not None:
        flat, entry = flat[order], entry[order]
    if flat is not None:
        flat = _frozen(np.array(flat, dtype=np.int64))
        entry = _frozen(np.array(entry, dtype=np.int64))
    _frozen(seeds)
    # Shared by every returned matrix and by structure(): read-only, so that no edit of
    # one result can change the structure of the next.
    # Copies first: some of them may be the caller's pattern arrays.
    rows_o, cols_o, indices, indptr = (None if a is None else _frozen(np.array(a))
                                       for a in (rows_o, cols_o, indices, indptr))
    plan = Plan(problem, (m, n), width, pw, seeds, fmt, rows_o, cols_o, indices, indptr,
                flat, entry, order)
    plan.chunks = _chunks(seeds, flat, entry, k, pw, chunk_size)
    return plan


def _index_dtype(*sizes: int) -> type:
    """int32 when every index and flat position fits, else int64."""
    return np.int32 if max(sizes) < 2**31 - 1 else np.int64


def _column_row_csr_plan(pattern, problem, colors, k, width, pw, dtype, chunk_size) -> Plan:
    """The plan of a Jacobian in CSR format: O(nnz) with no coordinate arrays and no
    dense seed matrix (built on first use by a backend that needs one).

    Index arrays are int32 when they fit; the input of every value of a column coloring
    is its column, so ``entry_input`` *is* the plan's ``indices`` (one array, shared).
    """
    P = sp.csr_array(pattern)
    P.sum_duplicates()
    P.sort_indices()
    m, n = P.shape
    idt = _index_dtype(m + 1, n + 1, P.nnz + 1, max(k, 1) * pw)
    indptr = _frozen(np.array(P.indptr, dtype=idt))
    indices = _frozen(np.array(P.indices, dtype=idt))
    flat = np.empty(indices.size, dtype=idt)
    if k:
        flat_index_kernel(indices.size)(indptr, indices, colors, problem == "column", m, n,
                                        flat)
    flat = _frozen(flat)
    if problem == "column":
        entry = indices
    else:
        entry = _frozen(np.repeat(np.arange(m, dtype=idt), np.diff(indptr)))
    plan = Plan(problem, (m, n), width, pw, None, "csr", None, None, indices, indptr,
                flat, entry, None, ncolors=k, dtype=np.dtype(dtype))
    plan.chunks = _chunks(None, flat, entry, k, pw, chunk_size, _frozen(colors), width,
                          np.dtype(dtype))
    return plan
