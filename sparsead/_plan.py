"""The precomputed decompression plan of a prepared derivative.

A plan holds everything that does not depend on x: the 0/1 seed matrix (batch-first,
``(ncolors, width)``), and for every stored value of the output matrix, in the output
format's order, the flat position in the batch-first product matrix to read it from
(``flat_index``) and the input variable whose seed produced it (``entry_input``, used by
finite differences to divide by the per-variable step). Direct decompression is then a
single gather, which a compiling backend can fuse into its products. The indices come
from the coloring (:meth:`coloring.ColoringResult.decompression_index`); the plan splits
them into chunks of seeds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from coloring import ColoringError
from coloring._decompression import FORMATS, UPLOS, index_dtype
from coloring._matrices import SharedStructureCSC, SharedStructureCSR

from ._errors import SparseADError
from ._kernels import group_by_color_kernel


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
        self._dense: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # built once and read-only: the chunk, the plan and a backend's request share it
        if self._dense is None:
            self._dense = np.zeros(self.shape, dtype=self.dtype)
            for c, cols in enumerate(self.columns):
                self._dense[c, cols] = 1
            _frozen(self._dense)
        if (dtype is None or np.dtype(dtype) == self.dtype) and not copy:
            return self._dense
        return self._dense.astype(self.dtype if dtype is None else dtype)


def _columns_by_color(colors: np.ndarray, start: int, stop: int) -> list[np.ndarray]:
    """Inputs of each color ``start..stop-1``, increasing (a counting sort, O(n), int32/64)."""
    idt = index_dtype(colors.size)
    inside = (colors >= start) & (colors < stop)
    order = np.empty(int(np.count_nonzero(inside)), dtype=idt)
    bounds = np.empty(stop - start + 1, dtype=np.int64)
    group_by_color_kernel(colors.size)(colors, start, stop, order, bounds)
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
    flat_index: np.ndarray | None  # into the chunk's (stop-start, width) products
    entry_input: np.ndarray | None  # (both None: substitution, the whole products)
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

    @property
    def substitution(self) -> bool:
        """Whether the values are recovered by substitution from all the products
        (acyclic colorings, bicolorings by substitution): its chunks only split the
        seeds and have no gather index."""
        return any(c.flat_index is None for c in self.chunks)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)`` of the stored values in output order (read-only).

        A csr or csc plan holds only ``indptr``/``indices``; the coordinates are expanded
        from them when first asked for (by ``structure()``), not at preparation.
        """
        if self.rows is None:
            major = _frozen(np.repeat(np.arange(self.indptr.size - 1,
                                                dtype=self.indices.dtype),
                                      np.diff(self.indptr)))
            if self.format == "csc":
                self.rows, self.cols = self.indices, major
            else:
                self.rows, self.cols = major, self.indices
        return self.rows, self.cols

    def new_matrix(self, data: np.ndarray):
        """A scipy sparse array of this plan's format holding ``data`` (no copy).

        Every matrix shares the plan's read-only index arrays (see
        :class:`SharedStructureCSR`) and is a shallow copy of a template built once:
        cheaper than scipy's constructor, which re-validates the structure.
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
            M.coords = self.coordinates()  # read-only, shared by every matrix
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



class PlanSizes:
    """The sizes every prepared object reads from its plan (``self._plan``)."""

    _plan: Plan

    @property
    def ncolors(self) -> int:
        """Products (JVPs, VJPs or HVPs) per evaluation."""
        return self._plan.ncolors

    @property
    def nnz(self) -> int:
        """Stored values per evaluation (structural zeros included)."""
        return self._plan.nnz


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    """``a`` made read-only in place: the JAX backend compiles seeds and gather indices in
    as constants, cached by identity, so an edit must raise rather than go stale."""
    if a is not None:
        a.setflags(write=False)
    return a


def _check_chunk_size(chunk_size: Any) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise SparseADError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _chunks(seeds, flat_index, entry_input, ncolors, pw, chunk_size, colors=None,
            width=0, dtype=None):
    """Split the seeds; each chunk keeps its own seed array so that a backend caching
    compiled products by seed identity (JAX) sees the same object on every call.
    With ``seeds`` None the chunks build their seeds from ``colors`` when first asked.
    Without ``flat_index`` (substitution) the chunks only split the seeds."""
    lazy = {"colors": colors, "width": width, "dtype": dtype}
    if chunk_size is None or chunk_size >= ncolors or ncolors == 0:
        return [Chunk(0, ncolors, seeds, None, flat_index, entry_input, **lazy)]
    color_of = None if flat_index is None else flat_index // pw
    out = []
    for start in range(0, ncolors, chunk_size):
        stop = min(start + chunk_size, ncolors)
        own_seeds = None if seeds is None else _frozen(np.array(seeds[start:stop]))
        if color_of is None:
            out.append(Chunk(start, stop, own_seeds, None, None, None, **lazy))
            continue
        pos = np.flatnonzero((color_of >= start) & (color_of < stop))
        out.append(Chunk(start, stop, own_seeds, _frozen(pos),
                         _frozen(np.ascontiguousarray(flat_index[pos] - start * pw)),
                         _frozen(np.ascontiguousarray(entry_input[pos])), **lazy))
    return out


def _bidirectional_plan(pattern: Any, result: Any, fmt: str, dtype: Any,
                        chunk_size: int | None) -> Plan:
    """Plan of a bicoloring: JVP chunks and VJP chunks, each filling its own positions.

    The coloring package gives, per side, the output positions it recovers and the gather
    index into that side's batch-first products
    (:meth:`coloring.BicoloringResult.decompression_index`); here they are split into
    chunks. A bicoloring by substitution has no gather index: its chunks only split the
    seeds, and the Jacobian decompresses through ``result.decompress``.
    """
    m, n = result.shape
    V, W = result.seed_matrices(dtype=dtype)
    index = _index_of(result, pattern, fmt, "F")
    if index.nnz == 0:
        V, W = V[:0], W[:0]
    sides = index.sides or (("jvp", None, None, None), ("vjp", None, None, None))
    chunks: list[Chunk] = []
    for kind, S, (_, pos, flat, entry), pw in (("jvp", V, sides[0], m),
                                               ("vjp", W, sides[1], n)):
        if S.shape[0] == 0:
            continue
        _frozen(S)
        for c in _chunks(S, flat, entry, S.shape[0], pw, chunk_size):
            if pos is not None:
                c.positions = _frozen(pos if c.positions is None
                                      else np.ascontiguousarray(pos[c.positions]))
            c.kind = kind
            chunks.append(c)
    plan = Plan("bidirectional", (m, n), n, _frozen(V), fmt, index.rows, index.cols,
                index.indices, index.indptr, None, None, index.csr_position,
                row_seeds=_frozen(W))
    plan.chunks = chunks
    return plan


def _index_of(result: Any, pattern: Any, fmt: str, uplo: str):
    """``result.decompression_index`` for ``pattern``, its errors as SparseADError."""
    try:
        return result.decompression_index(fmt, uplo, pattern=pattern)
    except ColoringError as exc:
        raise SparseADError(str(exc)) from exc


def build_plan(pattern: sp.csr_array, result: Any, *, fmt: str, uplo: str = "F",
               dtype: Any = np.float64, chunk_size: int | None = None) -> Plan:
    """Chunk the seeds of ``result``, a coloring of ``pattern``, over its decompression
    index (:meth:`coloring.ColoringResult.decompression_index`): O(nnz), index arrays
    int32 where they fit, no dense seed matrix (built on first use by a backend that
    needs one) and no coordinate arrays for csr and csc."""
    if fmt not in FORMATS:
        raise SparseADError(f"unknown format {fmt!r}; use one of {FORMATS}")
    _check_chunk_size(chunk_size)
    if hasattr(result, "row_colors"):  # a bicoloring: JVPs and VJPs
        return _bidirectional_plan(pattern, result, fmt, dtype, chunk_size)
    if uplo not in UPLOS:
        raise SparseADError(f"unknown uplo {uplo!r}; use 'F' (full), 'L' (lower) or 'U' "
                            f"(upper triangle)")
    problem = result.problem
    m, n = pattern.shape
    index = _index_of(result, pattern, fmt, uplo)
    colors = _frozen(np.asarray(result.colors, dtype=np.int64))
    k = int(result.ncolors) if pattern.nnz else 0  # no nonzeros: no products at all
    width = m if problem == "row" else n
    pw = index.product_width
    dtype = np.dtype(dtype)
    plan = Plan(problem, (m, n), width, None, fmt, index.rows, index.cols,
                index.indices, index.indptr, index.flat_index, index.entry_input,
                index.csr_position, ncolors=k, dtype=dtype)
    plan.chunks = _chunks(None, index.flat_index, index.entry_input, k, pw, chunk_size,
                          colors, width, dtype)
    return plan
