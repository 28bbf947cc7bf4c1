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
precomputed flat index. ``B`` may be C-contiguous or F-contiguous (e.g. the transpose of
a C-contiguous batch-first product); the index for the layout of ``B`` is picked from its
flags, so ``B`` is never copied. Both indices are built lazily and cached.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._errors import ColoringError
from ._matrices import SharedStructureCSR
from ._plot import plot_coloring

__all__ = ["ColoringResult", "PROBLEMS", "UPLOS"]

PROBLEMS = ("column", "row", "star", "acyclic", "bicolor", "bicolor_substitution")
UPLOS = ("F", "L", "U")
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
        self._index_cache: dict[tuple[str, str], np.ndarray | None] = {}
        self._triangle_cache: dict[str, tuple[np.ndarray, sp.csr_array]] = {}
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

    def _direct_index(self, layout: str) -> np.ndarray | None:
        """Flat gather index into ``B`` of layout ``"C"`` or ``"F"`` (None: substitution)."""
        key = ("F", layout)
        if key in self._index_cache:
            return self._index_cache[key]
        P = self.pattern
        m, n = P.shape
        k = self.ncolors
        rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(P.indptr))
        cols = P.indices
        if self.problem == "column":
            c = self.colors[cols]
            idx = rows * k + c if layout == "C" else c * m + rows
        elif self.problem == "row":
            c = self.colors[rows]
            idx = c * n + cols if layout == "C" else cols * k + c
        else:
            flat = getattr(self._plan, "flat_index", None)
            if flat is None:
                idx = None
            else:
                flat = np.asarray(flat, dtype=np.int64)
                if layout == "C":
                    idx = flat
                else:  # (i, c) at i*k + c in C order sits at c*n + i in F order
                    idx = (flat % k) * m + flat // k if k else flat
        if idx is not None:
            idx = np.ascontiguousarray(idx, dtype=np.int64)
        self._index_cache[key] = idx
        return idx

    def _triangle(self, uplo: str) -> tuple[np.ndarray, sp.csr_array]:
        """Positions of the ``uplo`` triangle within the full pattern, and its pattern."""
        if uplo in self._triangle_cache:
            return self._triangle_cache[uplo]
        P = self.pattern
        m, n = P.shape
        if m != n:
            raise ColoringError(f"uplo={uplo!r} needs a square matrix, got shape {P.shape}")
        rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(P.indptr))
        keep = rows >= P.indices if uplo == "L" else rows <= P.indices
        pos = np.flatnonzero(keep).astype(np.int64)
        counts = np.bincount(rows[pos], minlength=m)
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        T = sp.csr_array((np.ones(pos.size, dtype=bool), P.indices[pos], indptr), shape=P.shape)
        T.indices = np.ascontiguousarray(P.indices[pos], dtype=np.int64)
        T.indptr = indptr
        T.indices.flags.writeable = False  # shared by every matrix decompress() returns
        T.indptr.flags.writeable = False
        self._triangle_cache[uplo] = (pos, T)
        return pos, T

    def _target_pattern(self, uplo: str) -> sp.csr_array:
        return self.pattern if uplo == "F" else self._triangle(uplo)[1]

    def decompression_index(self, layout: str = "C", uplo: str = "F") -> np.ndarray | None:
        """Flat gather index ``idx`` with ``A.data == B_flat[idx]``.

        Parameters
        ----------
        layout : {"C", "F", "batch_first"}
            ``"C"``: ``B_flat = B.ravel()`` for a C-contiguous ``B``. ``"F"``:
            ``B_flat = B.T.ravel()`` for an F-contiguous ``B``. ``"batch_first"``: the
            flat index into the C-contiguous batch-first products (``(k, m)`` for column,
            ``(k, n)`` for row and symmetric problems), i.e. the layout a backend
            produces; a JAX backend can fuse this gather into its compiled function.
        uplo : {"F", "L", "U"}
            Full pattern, or only its lower/upper triangle.

        Returns
        -------
        numpy.ndarray of int64 or None
            ``None`` for acyclic colorings, which decompress by substitution.
        """
        if layout not in _LAYOUTS:
            raise ColoringError(f"unknown layout {layout!r}; use one of {_LAYOUTS}")
        _check_uplo(uplo)
        if layout == "batch_first":
            layout = self.batch_first_layout
        idx = self._direct_index(layout)
        if idx is None or uplo == "F":
            return idx
        key = (uplo, layout)
        if key not in self._index_cache:
            pos, _ = self._triangle(uplo)
            self._index_cache[key] = np.ascontiguousarray(idx[pos])
        return self._index_cache[key]

    def _check_B(self, B: Any) -> np.ndarray:
        B = np.asarray(B)
        expected = self.compressed_shape
        if B.ndim != 2 or B.shape != expected:
            what = "S.T @ A" if self.problem == "row" else "A @ S"
            raise ColoringError(
                f"compressed matrix B must have shape {expected} ({what} for problem="
                f"{self.problem!r} with {self.ncolors} colors), got {B.shape}")
        return B

    def _check_out(self, out: Any, target: sp.csr_array, dtype: np.dtype) -> None:
        if not (sp.issparse(out) and out.format == "csr"):
            raise ColoringError(f"out must be a scipy.sparse csr_array, got {type(out).__name__}")
        if out.shape != target.shape:
            raise ColoringError(f"out has shape {out.shape}, expected {target.shape}")
        same = ((out.indices is target.indices and out.indptr is target.indptr)
                or self._verified_before(out, target))
        if not same and (np.array_equal(out.indptr, target.indptr)
                         and np.array_equal(out.indices, target.indices)):
            # remember this matrix's index arrays: later calls skip the O(nnz) comparison
            self._verified[id(target)] = (weakref.ref(out.indices), weakref.ref(out.indptr))
            same = True
        if not same:
            raise ColoringError(
                "out does not have the pattern of this coloring (indptr/indices differ); "
                "pass a matrix returned by decompress() with the same uplo")
        if out.data.dtype != dtype:
            raise ColoringError(f"out.data has dtype {out.data.dtype} but B has dtype {dtype}; "
                                f"pass B of the same dtype or a new out")

    def _verified_before(self, out: Any, target: sp.csr_array) -> bool:
        refs = self._verified.get(id(target))
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
        _check_uplo(uplo)
        B = self._check_B(B)
        if B.flags.c_contiguous:
            layout, flat = "C", B.reshape(-1)
        elif B.flags.f_contiguous:
            layout, flat = "F", B.T.reshape(-1)
        else:
            B = np.ascontiguousarray(B)
            layout, flat = "C", B.reshape(-1)
        target = self._target_pattern(uplo)
        if out is not None:
            self._check_out(out, target, B.dtype)
            data = out.data
        else:
            data = np.empty(target.indices.size, dtype=B.dtype)
        idx = self.decompression_index(layout, uplo)
        if idx is not None:
            # mode="clip" avoids numpy's buffered bounds check of mode="raise"
            np.take(flat, idx, out=data, mode="clip")
        else:
            self._decompress_substitution(B, data, uplo)
        if out is not None:
            return out
        M = SharedStructureCSR((data, target.indices, target.indptr), shape=target.shape)
        # share the read-only index arrays (no copy; keeps int64; makes out= checks O(1))
        M.indices, M.indptr = target.indices, target.indptr
        M.has_canonical_format = True
        return M

    def _decompress_substitution(self, B: np.ndarray, data: np.ndarray, uplo: str) -> None:
        """Acyclic decompression through the symmetric plan (full data, then triangle)."""
        if uplo == "F":
            self._plan.decompress_into(B, data)
            return
        full = self._full_buffer
        if full is None or full.dtype != B.dtype:
            full = self._full_buffer = np.empty(self.nnz, dtype=B.dtype)
        self._plan.decompress_into(B, full)
        pos, _ = self._triangle(uplo)
        np.take(full, pos, out=data, mode="clip")


def _check_uplo(uplo: str) -> None:
    if uplo not in UPLOS:
        raise ColoringError(f"unknown uplo {uplo!r}; use 'F' (full), 'L' (lower) or 'U' (upper)")
