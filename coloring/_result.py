"""The result of a coloring: seed matrix, compression and (allocation-free) decompression.

Shapes, with ``A`` of shape ``(m, n)`` and ``k = ncolors``:

=========== ============== ===================== ==========================
problem     colors of      compressed ``B``      ``B`` from batch-first ``P``
=========== ============== ===================== ==========================
column      ``n`` columns  ``A @ S``, ``(m, k)`` ``P.T`` with ``P`` (k, m)
row         ``m`` rows     ``S.T @ A``, ``(k, n)`` ``P`` itself (k, n)
star        ``n`` columns  ``A @ S``, ``(n, k)`` ``P.T`` with ``P`` (k, n)
acyclic     ``n`` columns  ``A @ S``, ``(n, k)`` ``P.T`` with ``P`` (k, n)
=========== ============== ===================== ==========================

Direct decompression (column, row, star) is one gather ``data = B_flat[index]`` through a
precomputed flat index (:meth:`ColoringResult.decompression_index`, computed by
:mod:`coloring._decompression`). ``B`` may be C-contiguous or F-contiguous (e.g. the
transpose of a C-contiguous batch-first product); the index for the layout of ``B`` is
picked from its flags, so ``B`` is never copied. Indices are built lazily and cached.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._decompression import (
    UPLOS,
    DecompressionIndex,
    check_format,
    direct_index,
    other_layout,
    pattern_arrays,
    star_reads_from_colors,
    star_reads_here,
    triangle_positions,
)
from ._errors import ColoringError
from ._matrices import shared_csr
from ._plot import plot_coloring

__all__ = ["ColoringResult", "PROBLEMS", "UPLOS"]

PROBLEMS = ("column", "row", "star", "acyclic", "bicolor", "bicolor_substitution")
_LAYOUTS = ("C", "F", "batch_first")


class ColoringResult:
    """A coloring of the columns (or rows) of a sparsity pattern, ready for decompression.

    Attributes
    ----------
    colors : numpy.ndarray of int64
        One color per column (per row for ``problem="row"``), values ``0..ncolors-1``.
    ncolors : int
        Number of colors, i.e. of products needed.
    problem : str
        ``"column"``, ``"row"``, ``"star"`` or ``"acyclic"``.
    pattern : scipy.sparse.csr_array
        Boolean pattern that was colored (canonical: sorted unique indices; int64 index
        arrays). For symmetric problems this is the full symmetric pattern.
    order : str
        Name of the ordering that produced the kept coloring.
    lower_bound : int
        A lower bound on the number of colors of this problem: the most nonzeros in a row
        (column problem) or in a column (row problem); for star and acyclic, the size of
        a clique of the adjacency graph found greedily
        (:func:`coloring._api.clique_lower_bound`).
    """

    def __init__(self, pattern: sp.csr_array, colors: np.ndarray, problem: str, *,
                 order: str = "", plan: Any = None, lower_bound: int = 0,
                 orders_tried: dict[str, int] | None = None) -> None:
        self.pattern = pattern
        self.colors = np.ascontiguousarray(colors, dtype=np.int64)
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self.problem = problem
        self.order = order
        self.lower_bound = int(lower_bound)
        self.orders_tried = dict(orders_tried or {})
        self._plan = plan
        self._index_cache: dict[tuple[str, str, str], DecompressionIndex] = {}
        self._triangle_cache: dict[str, np.ndarray] = {}
        self._here: np.ndarray | None = None  # star: entries read in their own row
        self._full_buffer: np.ndarray | None = None
        # id(target pattern) -> weak references to index arrays of an `out` already compared
        self._verified: dict[int, tuple[weakref.ref, weakref.ref]] = {}

    # ------------------------------------------------------------------ basic shapes

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the colored matrix ``A``."""
        return self.pattern.shape

    @property
    def nnz(self) -> int:
        """Number of structural nonzeros of the (full) pattern."""
        return int(self.pattern.indices.size)

    @property
    def compressed_shape(self) -> tuple[int, int]:
        """Shape of ``B`` expected by :meth:`decompress`."""
        m, n = self.shape
        if self.problem == "row":
            return (self.ncolors, n)
        return (m, self.ncolors)

    @property
    def batch_first_layout(self) -> str:
        """Layout of ``B`` when it is obtained from batch-first products ``(k, ...)``."""
        return "C" if self.problem == "row" else "F"

    def __repr__(self) -> str:
        m, n = self.shape
        return (f"ColoringResult(problem={self.problem!r}, shape=({m}, {n}), nnz={self.nnz}, "
                f"ncolors={self.ncolors}, order={self.order!r})")

    def plot(self, ax: Any = None, *, compressed: bool = True) -> Any:
        """Draw the pattern coloured by color and the compressed matrix beside it.

        Each structural nonzero gets the color of the product it is read from (its
        column's color; its row's for row colorings; for star colorings the color of
        the entry of ``B`` its direct decompression reads), as SparseMatrixColorings.jl's
        ``show_colors`` does. Beside it, the entries of ``B`` that hold a nonzero, coloured
        by product. Needs matplotlib (the extra ``plot``).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or pair of Axes, optional
            Where to draw. ``None`` makes a new figure. A single Axes gets only the
            pattern; a pair gets the pattern and ``B``.
        compressed : bool
            With ``ax=None``, also draw ``B``.

        Returns
        -------
        matplotlib.axes.Axes or tuple of two Axes
            The axes drawn into: ``(pattern_ax, compressed_ax)`` when ``B`` is drawn.

        Examples
        --------
        >>> import scipy.sparse as sp, coloring
        >>> A = sp.diags_array([1.0, 2.0, 1.0], offsets=[-1, 0, 1], shape=(8, 8))
        >>> pattern_ax, compressed_ax = coloring.color(A, problem="column").plot()
        """
        return plot_coloring(self, ax, compressed=compressed)

    # ----------------------------------------------------------------- seeds and compress

    def seed_matrix(self, *, batch_first: bool = False, dtype: Any = np.float64,
                    sparse: bool = False) -> Any:
        """The 0/1 seed matrix ``S`` with ``S[j, colors[j]] = 1``.

        Parameters
        ----------
        batch_first : bool
            Return ``S.T`` as a C-contiguous ``(ncolors, n)`` array: the tangents (or
            cotangents for ``"row"``) in the batch-first layout of the backends.
        dtype : numpy dtype
            Entry type.
        sparse : bool
            Return a ``scipy.sparse.csr_array`` instead of a dense array.

        Returns
        -------
        numpy.ndarray or scipy.sparse.csr_array
            Shape ``(len(colors), ncolors)``, or its transpose if ``batch_first``.
        """
        p = self.colors.size
        k = self.ncolors
        if sparse:
            S = sp.csr_array((np.ones(p, dtype=dtype), self.colors, np.arange(p + 1)),
                             shape=(p, k))
            return sp.csr_array(S.T) if batch_first else S
        if batch_first:
            S = np.zeros((k, p), dtype=dtype)
            S[self.colors, np.arange(p)] = 1
        else:
            S = np.zeros((p, k), dtype=dtype)
            S[np.arange(p), self.colors] = 1
        return S

    def _values_on_pattern(self, A_values: Any) -> sp.csr_array:
        """``A_values`` as a CSR matrix on the colored pattern (shape checked)."""
        if isinstance(A_values, np.ndarray) and A_values.ndim == 1:
            if A_values.size != self.nnz:
                raise ColoringError(
                    f"a 1-D array of values must have one entry per structural nonzero "
                    f"({self.nnz}), got {A_values.size}")
            M = sp.csr_array((A_values, self.pattern.indices, self.pattern.indptr),
                             shape=self.shape)
            return M
        if sp.issparse(A_values):
            M = sp.csr_array(A_values)
        else:
            M = sp.csr_array(np.asarray(A_values))
        if M.shape != self.shape:
            raise ColoringError(f"values have shape {M.shape}, but the colored pattern has "
                                f"shape {self.shape}")
        return M

    def compress(self, A_values: Any) -> np.ndarray:
        """The compressed matrix the products would give.

        ``A @ S`` for column, star and acyclic problems, ``S.T @ A`` for row problems.

        Parameters
        ----------
        A_values : scipy.sparse matrix, numpy.ndarray, or 1-D numpy.ndarray
            A matrix with (a subset of) the colored pattern, or its values aligned with
            ``pattern.indices``.

        Returns
        -------
        numpy.ndarray
            C-contiguous, shape :attr:`compressed_shape`.
        """
        M = self._values_on_pattern(A_values)
        S = self.seed_matrix(sparse=True, dtype=M.dtype if M.dtype.kind in "fc" else float)
        B = (S.T @ M) if self.problem == "row" else (M @ S)
        return np.ascontiguousarray(B.toarray())

    # ---------------------------------------------------------------- decompression

    def _star_reads(self, indptr: np.ndarray, indices: np.ndarray, own: bool) -> np.ndarray:
        """Whether each entry of a star coloring is read in its own row; from the star
        plan's hubs when there is one, else from the colors (cached for the own pattern)."""
        if own and self._here is not None:
            return self._here
        if own and self._plan is not None:
            g, plan = self._plan.graph, self._plan
            here = star_reads_here(g.indptr, g.indices, g.edge_of_pos, plan.star_of_edge,
                                   plan.hub)
        else:
            here = star_reads_from_colors(indptr, indices, self.colors)
        if own:
            self._here = here
        return here

    def decompression_index(self, format: str = "csr", uplo: str = "F", *,
                            layout: str = "batch_first",
                            pattern: Any = None) -> DecompressionIndex:
        """Where each stored entry of the output matrix is read in the products.

        One implementation (:mod:`coloring._decompression`) serves :meth:`decompress` and
        any caller that gathers the entries itself (``sparsead``'s evaluation plans).

        Parameters
        ----------
        format : {"csr", "csc", "coo"}
            Order of the stored values (and structure) of the output matrix.
        uplo : {"F", "L", "U"}
            Full pattern, or only its lower/upper triangle (square patterns).
        layout : {"batch_first", "C", "F"}
            Of the products the flat index reads. ``"batch_first"``: the C-contiguous
            products ``(k, m)`` (column) or ``(k, n)`` (row, star, acyclic), as a backend
            returns them. ``"C"`` / ``"F"``: ``B`` of :attr:`compressed_shape`, read as
            ``B.ravel()`` / ``B.T.ravel()``.
        pattern : scipy.sparse matrix, optional
            The pattern of the output matrix when it is not the colored one: a subset
            (for column and row colorings), or, for star colorings, any symmetric
            pattern the colors star-color. Default: the colored pattern.

        Returns
        -------
        DecompressionIndex
            Read-only arrays in the output's order, int32 where they fit:
            ``indptr``/``indices`` (csr, csc) or ``rows``/``cols`` (coo), ``flat_index``
            and ``entry_input`` (the seed index behind each value); for acyclic colorings
            ``flat_index`` is None and ``substitution()`` returns the solve order
            (built on its first call, or by the first :meth:`decompress`).
            Cached per arguments for the colored pattern.

        Raises
        ------
        ColoringError
            Unknown format, uplo or layout; a non-square pattern with ``uplo``; a pattern
            the colors cannot decompress.
        """
        if layout not in _LAYOUTS:
            raise ColoringError(f"unknown layout {layout!r}; use one of {_LAYOUTS}")
        check_format(format, uplo)
        if layout == self.batch_first_layout:
            layout = "batch_first"
        indptr, indices, own = pattern_arrays(pattern, self.pattern)
        key = (format, uplo, layout)
        if own and key in self._index_cache:
            return self._index_cache[key]
        if layout != "batch_first":
            base = self.decompression_index(format, uplo, pattern=pattern)
            index = other_layout(base, self.ncolors, layout)
        elif self.problem == "acyclic":
            if not own:
                raise ColoringError("an acyclic coloring decompresses by substitution on the "
                                    "pattern it was computed for; color this pattern instead")
            index = direct_index(indptr, indices, self.shape, None, "acyclic", format=format,
                                 uplo=uplo, want_csr_position=True)
            index = replace(index, substitution=self._plan.substitution_order)
        else:
            here = (self._star_reads(indptr, indices, own) if self.problem == "star"
                    else None)
            index = direct_index(indptr, indices, self.shape, self.colors, self.problem,
                                 format=format, uplo=uplo, ncolors=self.ncolors, here=here)
        if own:
            self._index_cache[key] = index
        return index

    def _triangle(self, uplo: str) -> np.ndarray:
        """CSR positions of the ``uplo`` triangle within the full pattern (cached)."""
        if uplo not in self._triangle_cache:
            P = self.pattern
            self._triangle_cache[uplo] = triangle_positions(P.indptr, P.indices, uplo)
        return self._triangle_cache[uplo]

    def _check_B(self, B: Any) -> np.ndarray:
        B = np.asarray(B)
        expected = self.compressed_shape
        if B.ndim != 2 or B.shape != expected:
            what = "S.T @ A" if self.problem == "row" else "A @ S"
            raise ColoringError(
                f"compressed matrix B must have shape {expected} ({what} for problem="
                f"{self.problem!r} with {self.ncolors} colors), got {B.shape}")
        return B

    def _check_out(self, out: Any, target: DecompressionIndex, dtype: np.dtype) -> None:
        if not (sp.issparse(out) and out.format == "csr"):
            raise ColoringError(f"out must be a scipy.sparse csr_array, got {type(out).__name__}")
        if out.shape != target.shape:
            raise ColoringError(f"out has shape {out.shape}, expected {target.shape}")
        same = ((out.indices is target.indices and out.indptr is target.indptr)
                or self._verified_before(out, target))
        if not same and (np.array_equal(out.indptr, target.indptr)
                         and np.array_equal(out.indices, target.indices)):
            # remember this matrix's index arrays: later calls skip the O(nnz) comparison
            self._verified[id(target.indices)] = (weakref.ref(out.indices), weakref.ref(out.indptr))
            same = True
        if not same:
            raise ColoringError(
                "out does not have the pattern of this coloring (indptr/indices differ); "
                "pass a matrix returned by decompress() with the same uplo")
        if out.data.dtype != dtype:
            raise ColoringError(f"out.data has dtype {out.data.dtype} but B has dtype {dtype}; "
                                f"pass B of the same dtype or a new out")

    def _verified_before(self, out: Any, target: DecompressionIndex) -> bool:
        refs = self._verified.get(id(target.indices))
        return refs is not None and refs[0]() is out.indices and refs[1]() is out.indptr

    def decompress(self, B: Any, *, out: sp.csr_array | None = None,
                   uplo: str = "F") -> sp.csr_array:
        """Recover ``A`` from the compressed matrix ``B``.

        Parameters
        ----------
        B : numpy.ndarray
            Shape :attr:`compressed_shape`. C- or F-contiguous arrays are read in place
            (pass ``P.T`` for batch-first products ``P``); other layouts are copied once.
        out : scipy.sparse.csr_array, optional
            A matrix from an earlier ``decompress`` call (same ``uplo``): its ``.data`` is
            refilled in place, with no new allocation, and it is returned.
        uplo : {"F", "L", "U"}
            ``"L"``/``"U"`` return only the lower/upper triangle (square matrices).

        Returns
        -------
        scipy.sparse.csr_array
            Exactly the (triangle of the) colored pattern, structural zeros kept, sorted
            indices, values of ``B``'s dtype. Its ``indices``/``indptr`` are shared,
            read-only arrays (its ``data`` is its own); ``eliminate_zeros()`` first gives
            the matrix its own copies, so it works and cannot change later results.

        Raises
        ------
        ColoringError
            If ``B`` has the wrong shape or ``out`` the wrong pattern or dtype.
        """
        check_format("csr", uplo)
        B = self._check_B(B)
        if B.flags.c_contiguous:
            layout, flat = "C", B.reshape(-1)
        elif B.flags.f_contiguous:
            layout, flat = "F", B.T.reshape(-1)
        else:
            B = np.ascontiguousarray(B)
            layout, flat = "C", B.reshape(-1)
        index = self.decompression_index("csr", uplo, layout=layout)
        if out is not None:
            self._check_out(out, index, B.dtype)
            data = out.data
        else:
            data = np.empty(index.nnz, dtype=B.dtype)
        if index.flat_index is not None:
            # mode="clip" avoids numpy's buffered bounds check of mode="raise"
            np.take(flat, index.flat_index, out=data, mode="clip")
        else:
            self._decompress_substitution(B, data, uplo)
        if out is not None:
            return out
        return shared_csr(data, index.indices, index.indptr, self.shape)

    def _decompress_substitution(self, B: np.ndarray, data: np.ndarray, uplo: str) -> None:
        """Acyclic decompression through the symmetric plan (full data, then triangle)."""
        if uplo == "F":
            self._plan.decompress_into(B, data)
            return
        full = self._full_buffer
        if full is None or full.dtype != B.dtype:
            full = self._full_buffer = np.empty(self.nnz, dtype=B.dtype)
        self._plan.decompress_into(B, full)
        np.take(full, self._triangle(uplo), out=data, mode="clip")
